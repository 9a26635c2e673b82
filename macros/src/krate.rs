//! The name under which the crate being compiled knows the `netpoll` facade.
//!
//! `#[netpoll::main]` expands to paths such as `<crate>::runtime::Builder`. A program that
//! depends on netpoll under another name (`tokio = { package = "netpoll", ... }`, the drop-in
//! case) has no `::netpoll` in scope, and a proc macro is not told the path it was invoked by.
//! So, as the `proc-macro-crate` crate does, we read the manifest of the crate being compiled
//! (`$CARGO_MANIFEST_DIR/Cargo.toml`) and look for the dependency whose package is `netpoll`:
//!
//! - `name = { package = "netpoll", ... }` in any `[dependencies]`, `[dev-dependencies]`,
//!   `[build-dependencies]` or `[target.<cfg>.*dependencies]` table;
//! - `[dependencies.name]` (or the dev/build/target forms) with a `package = "netpoll"` line;
//! - `name = { workspace = true }` (or `name.workspace = true`), where the workspace root's
//!   `[workspace.dependencies]` entry for `name` has `package = "netpoll"`.
//!
//! A dependency written `netpoll = ...` needs nothing: that is the default `::netpoll`. Only the
//! subset of TOML that dependency tables use is understood (keys, strings, inline tables,
//! comments); anything else is skipped. `crate = "path"` overrides all of this.

use std::path::{Path, PathBuf};

/// The facade's package name.
const PACKAGE: &str = "netpoll";

/// The crate name to emit as `::<name>`: the renamed dependency's key if the manifest renames
/// netpoll, else `netpoll`.
pub(crate) fn facade_name() -> String {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return PACKAGE.to_string();
    };
    let dir = PathBuf::from(dir);
    let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return PACKAGE.to_string();
    };
    let deps = dependencies(&manifest, false);
    if let Some(dep) = deps.iter().find(|d| d.package.as_deref() == Some(PACKAGE)) {
        return dep.key.replace('-', "_");
    }
    if deps.iter().any(|d| d.key == PACKAGE && d.package.is_none()) {
        return PACKAGE.to_string();
    }
    let inherited: Vec<&Dep> = deps.iter().filter(|d| d.workspace).collect();
    if !inherited.is_empty() {
        if let Some(root) = workspace_manifest(&dir) {
            let ws = dependencies(&root, true);
            for dep in inherited {
                let from_root = ws.iter().find(|w| w.key == dep.key);
                if from_root.and_then(|w| w.package.as_deref()) == Some(PACKAGE) {
                    return dep.key.replace('-', "_");
                }
            }
        }
    }
    PACKAGE.to_string()
}

/// One dependency entry: its key, its `package = ".."` if any, and whether it says
/// `workspace = true`.
#[derive(Debug, Default, PartialEq)]
struct Dep {
    key: String,
    package: Option<String>,
    workspace: bool,
}

/// The manifest of the workspace that `dir` belongs to: the nearest ancestor `Cargo.toml`
/// with a `[workspace]` table.
fn workspace_manifest(dir: &Path) -> Option<String> {
    for ancestor in dir.ancestors().skip(1) {
        if let Ok(text) = std::fs::read_to_string(ancestor.join("Cargo.toml")) {
            if text
                .lines()
                .any(|l| strip_comment(l).trim() == "[workspace]")
            {
                return Some(text);
            }
        }
    }
    None
}

/// Is `header` (the text between `[` and `]`) a dependency table? Returns the dependency's key
/// for a `[dependencies.key]` form, `Some(None)` for a table of dependencies.
fn table_kind(header: &str, workspace: bool) -> Option<Option<String>> {
    let parts = split_dotted(header);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let rest: &[&str] = if workspace {
        match parts.as_slice() {
            ["workspace", rest @ ..] => rest,
            _ => return None,
        }
    } else {
        match parts.as_slice() {
            ["target", _cfg, rest @ ..] => rest,
            rest => rest,
        }
    };
    let is_deps = |t: &str| {
        if workspace {
            t == "dependencies"
        } else {
            matches!(
                t,
                "dependencies"
                    | "dev-dependencies"
                    | "dev_dependencies"
                    | "build-dependencies"
                    | "build_dependencies"
            )
        }
    };
    match rest {
        [t] if is_deps(t) => Some(None),
        [t, key] if is_deps(t) => Some(Some(key.to_string())),
        _ => None,
    }
}

/// The dependencies of a manifest (`workspace`: those of `[workspace.dependencies]`).
fn dependencies(manifest: &str, workspace: bool) -> Vec<Dep> {
    let mut deps: Vec<Dep> = Vec::new();
    // Where `key = value` lines go: nowhere, a table of dependencies, or one dependency's table.
    enum Section {
        Other,
        Deps,
        One(usize),
    }
    let mut section = Section::Other;
    let mut lines = manifest.lines();
    while let Some(line) = lines.next() {
        let mut line = strip_comment(line).trim().to_string();
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']').trim();
            section = match table_kind(header, workspace) {
                Some(None) => Section::Deps,
                Some(Some(key)) => {
                    deps.push(Dep {
                        key,
                        ..Dep::default()
                    });
                    Section::One(deps.len() - 1)
                }
                None => Section::Other,
            };
            continue;
        }
        // An inline table may span lines (TOML 1.1, and what people write anyway).
        if line.contains('{') {
            while line.matches('{').count() > line.matches('}').count() {
                match lines.next() {
                    Some(more) => {
                        line.push(' ');
                        line.push_str(strip_comment(more).trim());
                    }
                    None => break,
                }
            }
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = split_dotted(key.trim());
        let value = value.trim();
        match section {
            Section::Other => {}
            Section::Deps => {
                let name = match key.as_slice() {
                    [name] => name.clone(),
                    // `name.workspace = true`, `name.package = ".."`
                    [name, field] => {
                        let i = match deps.iter().position(|d| &d.key == name) {
                            Some(i) => i,
                            None => {
                                deps.push(Dep {
                                    key: name.clone(),
                                    ..Dep::default()
                                });
                                deps.len() - 1
                            }
                        };
                        set_field(&mut deps[i], field, value);
                        continue;
                    }
                    _ => continue,
                };
                let mut dep = Dep {
                    key: name,
                    ..Dep::default()
                };
                if let Some(inner) = value.strip_prefix('{') {
                    for (field, v) in inline_fields(inner.trim_end_matches('}')) {
                        set_field(&mut dep, &field, &v);
                    }
                }
                deps.push(dep);
            }
            Section::One(i) => {
                if let [field] = key.as_slice() {
                    set_field(&mut deps[i], field, value);
                }
            }
        }
    }
    deps
}

fn set_field(dep: &mut Dep, field: &str, value: &str) {
    match field {
        "package" => dep.package = unquote(value),
        "workspace" => dep.workspace = value.trim() == "true",
        _ => {}
    }
}

/// `a = "x", b = { .. }, c = [..]` → the top-level `(key, value)` pairs.
fn inline_fields(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut pieces = Vec::new();
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    for piece in pieces {
        if let Some((k, v)) = piece.split_once('=') {
            let k = split_dotted(k.trim()).join(".");
            out.push((k, v.trim().to_string()));
        }
    }
    out
}

/// `a.'b c'."d"` → `["a", "b c", "d"]`.
fn split_dotted(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in key.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, '.') => parts.push(std::mem::take(&mut cur).trim().to_string()),
            (None, c) => cur.push(c),
        }
    }
    parts.push(cur.trim().to_string());
    parts
}

/// The contents of a basic or literal string.
fn unquote(value: &str) -> Option<String> {
    let v = value.trim();
    let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = v[1..].split(q).next()?;
    Some(inner.to_string())
}

/// The line without a trailing `# comment` (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(manifest: &str) -> Option<String> {
        dependencies(manifest, false)
            .into_iter()
            .find(|d| d.package.as_deref() == Some(PACKAGE))
            .map(|d| d.key)
    }

    #[test]
    fn inline_rename() {
        let m = r#"
[package]
name = "app"   # package = "netpoll" in a comment is not a dependency

[dependencies]
serde = "1"
tokio = { package = "netpoll", path = "../netpoll", features = ["full"] } # drop-in
"#;
        assert_eq!(renamed(m).as_deref(), Some("tokio"));
    }

    #[test]
    fn multi_line_inline_table_and_target_tables() {
        let m = r#"
[target.'cfg(unix)'.dev-dependencies]
rt = {
    path = "../netpoll",
    package = 'netpoll',
}
"#;
        assert_eq!(renamed(m).as_deref(), Some("rt"));
    }

    #[test]
    fn table_form() {
        let m = r#"
[dependencies.tokio]
package = "netpoll"
path = ".."
"#;
        assert_eq!(renamed(m).as_deref(), Some("tokio"));
        let dotted = "[dependencies]\ntokio.package = \"netpoll\"\ntokio.path = \"..\"\n";
        assert_eq!(renamed(dotted).as_deref(), Some("tokio"));
    }

    #[test]
    fn not_renamed() {
        assert_eq!(
            renamed("[dependencies]\nnetpoll = { path = \"..\" }\n"),
            None
        );
        assert_eq!(
            renamed("[package]\nname = \"x\"\npackage = \"netpoll\"\n[dependencies]\n"),
            None
        );
        // A real tokio beside netpoll.
        let both = "[dev-dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n";
        assert_eq!(renamed(both), None);
    }

    #[test]
    fn workspace_inheritance() {
        let member = "[dependencies]\ntokio = { workspace = true }\n";
        let deps = dependencies(member, false);
        assert!(deps[0].workspace && deps[0].key == "tokio");
        let member = "[dependencies]\ntokio.workspace = true\n";
        assert!(dependencies(member, false)[0].workspace);
        let root = "[workspace]\nmembers = [\"a\"]\n\n[workspace.dependencies]\ntokio = { package = \"netpoll\", path = \"np\" }\n";
        let ws = dependencies(root, true);
        assert_eq!(ws[0].package.as_deref(), Some("netpoll"));
        // Outside `[workspace.dependencies]` a workspace manifest's own deps do not count.
        assert!(
            dependencies("[dependencies]\ntokio = { package = \"netpoll\" }\n", true).is_empty()
        );
    }
}
