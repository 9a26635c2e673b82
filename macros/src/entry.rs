//! Parsing, checking and expansion shared by `#[netpoll::main]` and `#[netpoll::test]`.
//!
//! Error handling follows one rule: report every problem with a span, and still emit code that
//! compiles as far as possible, so the user sees our messages and not a cascade of follow-on
//! errors (`main` not found, `main` may not be `async`, ...):
//!
//! - bad arguments: expand with the default for each argument that was wrong;
//! - a function that is not `async`: emit it unchanged;
//! - an `async fn` with arguments it may not have: emit a stub with the same name and return type.

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, Error, Expr, Ident, ItemFn, Lit, Path, ReturnType, Token, Type};

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[netpoll::main]",
            Kind::Test => "#[netpoll::test]",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

const FLAVORS: &[&str] = &["multi_thread", "current_thread"];
const ARGS: &[&str] = &["flavor", "worker_threads", "crate", "name"];

/// The runtime the expansion builds.
struct Config {
    flavor: Flavor,
    /// The literal, re-spanned at the user's argument.
    worker_threads: Option<Literal>,
    krate: TokenStream,
    /// `name = ".."`: the runtime's thread name.
    name: Option<syn::LitStr>,
}

impl Config {
    fn default_for(kind: Kind) -> Config {
        Config {
            flavor: kind.default_flavor(),
            worker_threads: None,
            krate: TokenStream::new(),
            name: None,
        }
    }
}

/// Expands `#[netpoll::main(args)]` / `#[netpoll::test(args)]` on `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let config = parse_args(kind, args, &mut errors);

    let func = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(func)) => func,
        Ok(_) => {
            errors.push(Error::new(
                Span::call_site(),
                format!("{} can only be applied to an `async fn`", kind.attr()),
            ));
            return with_errors(errors, item);
        }
        // Half-typed code: report syn's error and give the tokens back untouched.
        Err(e) => {
            errors.push(e);
            return with_errors(errors, item);
        }
    };

    let not_async = func.sig.asyncness.is_none();
    if not_async {
        errors.push(Error::new(
            func.sig.fn_token.span,
            format!(
                "{} needs an `async fn`: add `async` before `fn`",
                kind.attr()
            ),
        ));
    }

    let bad_inputs = match kind {
        Kind::Main => func.sig.ident == "main" && !func.sig.inputs.is_empty(),
        Kind::Test => !func.sig.inputs.is_empty(),
    };
    if bad_inputs {
        let msg = match kind {
            Kind::Main => {
                "the `main` function cannot take arguments; read them with `std::env::args()`"
            }
            Kind::Test => "test functions cannot take arguments",
        };
        errors.push(Error::new_spanned(&func.sig.inputs, msg));
    }

    if kind == Kind::Test {
        for attr in func.attrs.iter().filter(|a| is_test_attr(a)) {
            errors.push(Error::new_spanned(
                attr,
                "#[netpoll::test] already adds `#[test]`; remove this attribute",
            ));
        }
    }

    if not_async {
        // A valid sync fn: keep it as written.
        return with_errors(errors, quote!(#[allow(dead_code)] #func));
    }
    if bad_inputs {
        return with_errors(errors, stub(func));
    }
    with_errors(errors, expand_fn(kind, config, func))
}

/// The rewritten function: a sync fn that builds a runtime and `block_on`s the async body.
fn expand_fn(kind: Kind, config: Config, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
        ..
    } = func;
    sig.asyncness = None;

    // syn keeps the body's inner attributes (`#![allow(..)]`) with the outer ones; they go back
    // inside the new body, where they cover the async block too.
    let (inner, outer): (Vec<Attribute>, Vec<Attribute>) = attrs
        .into_iter()
        .filter(|a| !(kind == Kind::Test && is_test_attr(a)))
        .partition(|a| matches!(a.style, AttrStyle::Inner(_)));

    let header = match kind {
        Kind::Main => quote!(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };
    let Config {
        flavor,
        worker_threads,
        krate,
        name,
    } = config;
    let krate = if krate.is_empty() {
        let ident = Ident::new(&crate::krate::facade_name(), Span::call_site());
        quote!(::#ident)
    } else {
        krate
    };
    let name = name.map(|n| quote!(.thread_name(#n)));
    let constructor = match flavor {
        Flavor::MultiThread => format_ident!("new_multi_thread"),
        Flavor::CurrentThread => format_ident!("new_current_thread"),
    };
    let worker_threads = worker_threads.map(|n| quote!(.worker_threads(#n)));
    let body = format_ident!("__netpoll_body");
    let rt = format_ident!("__netpoll_runtime");
    let ret = format_ident!("__netpoll_return");

    // An async block's output type cannot be written down, so a wrong tail expression would be
    // reported on the `block_on` call, that is on the attribute. Binding the block to a variable
    // of the declared return type moves the error to the tail expression, as in a plain fn.
    // `return` and `?` in the body still leave the async block. Not possible for `-> impl Trait`
    // and `-> !` (`let x: !` is unstable): those rely on inference alone. The tail is unreachable
    // when the body always returns early or loops forever: allow that on the tail alone. Clippy
    // sees a body that is a single diverging statement (`panic!()`) as a diverging initializer,
    // which only this wrapping makes it: allow that on the `let` (it covers the body too).
    let async_block = match annotatable_output(&sig.output) {
        Some(ty) => quote! {
            async move {
                #[allow(clippy::diverging_sub_expression)]
                let #ret: #ty = #block;
                #[allow(unreachable_code)]
                #ret
            }
        },
        None => quote!(async move #block),
    };

    quote! {
        #header
        #(#outer)*
        #vis #sig {
            #(#inner)*
            let #body = #async_block;
            let #rt = #krate::runtime::Builder::#constructor()
                #worker_threads
                #name
                .enable_all()
                .build()
                .expect("failed to build the netpoll runtime");
            #rt.block_on(#body)
        }
    }
}

/// The declared return type, if it may annotate a `let`.
fn annotatable_output(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => None,
        ReturnType::Type(_, ty) if mentions_impl(quote!(#ty)) => None,
        ReturnType::Type(_, ty) => Some(quote!(#ty)),
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// An `async fn` with arguments it may not take: the same fn, sync, without arguments, with a
/// body that never runs. It keeps `main` defined and the error list down to ours.
fn stub(mut func: ItemFn) -> TokenStream {
    func.sig.asyncness = None;
    func.sig.inputs.clear();
    func.attrs
        .retain(|a| !matches!(a.style, AttrStyle::Inner(_)));
    *func.block = syn::parse_quote!({ ::core::unreachable!() });
    quote!(#[allow(dead_code)] #func)
}

fn with_errors(errors: Vec<Error>, tokens: TokenStream) -> TokenStream {
    let errors = errors.iter().map(Error::to_compile_error);
    quote!(#(#errors)* #tokens)
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[::std::prelude::rust_2021::test]`, ...
fn is_test_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [only] => only == "test",
        [first, .., last] => {
            (first == "core" || first == "std")
                && last == "test"
                && segments.iter().any(|s| s == "prelude")
        }
        [] => false,
    }
}

/// Parses `flavor = "..", worker_threads = N, crate = ".."`. Problems with one argument go to
/// `errors` and leave that setting at its default; a syntax error stops parsing.
fn parse_args(kind: Kind, args: TokenStream, errors: &mut Vec<Error>) -> Config {
    let mut config = Config::default_for(kind);
    let mut flavor_arg: Option<Span> = None;
    let mut flavor_ok = true;
    let mut workers_arg: Option<Span> = None;
    let mut crate_arg: Option<Span> = None;
    let mut name_arg: Option<Span> = None;

    let parser = |input: ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            let name = input.call(Ident::parse_any).map_err(|e| {
                Error::new(
                    e.span(),
                    "expected an argument: `flavor`, `worker_threads`, `name` or `crate`",
                )
            })?;
            let key = name.unraw().to_string();
            let known = ARGS.contains(&key.as_str());
            if !known {
                errors.push(unknown_arg(kind, &name, &key));
            }

            let value = if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                Some(input.parse::<Expr>()?)
            } else {
                if known {
                    errors.push(Error::new(
                        name.span(),
                        format!("`{key}` needs a value: {}", example(&key)),
                    ));
                }
                None
            };

            if let (true, Some(value)) = (known, value) {
                let seen = match key.as_str() {
                    "flavor" => &mut flavor_arg,
                    "worker_threads" => &mut workers_arg,
                    "name" => &mut name_arg,
                    _ => &mut crate_arg,
                };
                if seen.is_some() {
                    errors.push(Error::new(
                        name.span(),
                        format!("`{key}` is given more than once"),
                    ));
                } else {
                    *seen = Some(name.span());
                    let result = match key.as_str() {
                        "flavor" => parse_flavor(&value).map(|f| config.flavor = f),
                        "worker_threads" => {
                            parse_workers(&value).map(|n| config.worker_threads = Some(n))
                        }
                        "name" => parse_name(&value).map(|n| config.name = Some(n)),
                        _ => parse_crate(&value).map(|p| config.krate = quote!(#p)),
                    };
                    if let Err(e) = result {
                        if key == "flavor" {
                            flavor_ok = false;
                        }
                        errors.push(e);
                    }
                }
            }

            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }

    if let (Some(span), Flavor::CurrentThread, true) = (workers_arg, config.flavor, flavor_ok) {
        let msg = if flavor_arg.is_some() {
            "`worker_threads` only applies to the multi_thread flavor: remove it, or use \
             `flavor = \"multi_thread\"`"
                .to_string()
        } else {
            format!(
                "`worker_threads` needs `flavor = \"multi_thread\"`: {} runs on a current_thread \
                 runtime by default",
                kind.attr()
            )
        };
        errors.push(Error::new(span, msg));
    }
    if config.flavor == Flavor::CurrentThread {
        config.worker_threads = None;
    }
    config
}

fn example(key: &str) -> &'static str {
    match key {
        "flavor" => "`flavor = \"multi_thread\"` or `flavor = \"current_thread\"`",
        "worker_threads" => "`worker_threads = 4`",
        "name" => "`name = \"my-server\"`",
        _ => "`crate = \"path::to::netpoll\"`",
    }
}

fn unknown_arg(kind: Kind, name: &Ident, key: &str) -> Error {
    let valid = "valid arguments are `flavor`, `worker_threads`, `name` and `crate`";
    let msg = if FLAVORS.contains(&key) {
        format!("unknown argument `{key}`; to pick the flavor write `flavor = \"{key}\"`")
    } else if key == "start_paused" || key == "unhandled_panic" {
        format!(
            "`{key}` is a tokio option that {} does not support; {valid}",
            kind.attr()
        )
    } else if let Some(near) = closest(key, ARGS) {
        format!("unknown argument `{key}` (did you mean `{near}`?); {valid}")
    } else {
        format!("unknown argument `{key}`; {valid}")
    };
    Error::new(name.span(), msg)
}

fn lit(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(e) if e.attrs.is_empty() => Some(&e.lit),
        _ => None,
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    let Some(Lit::Str(s)) = lit(value) else {
        return Err(Error::new_spanned(
            value,
            "`flavor` takes a string: \"multi_thread\" or \"current_thread\"",
        ));
    };
    match s.value().as_str() {
        "multi_thread" => Ok(Flavor::MultiThread),
        "current_thread" => Ok(Flavor::CurrentThread),
        other => {
            let hint = match closest(other, FLAVORS) {
                Some(near) => format!(" (did you mean \"{near}\"?)"),
                None => String::new(),
            };
            Err(Error::new(
                s.span(),
                format!(
                    "unknown runtime flavor \"{other}\"{hint}; the flavors are \"multi_thread\" \
                     and \"current_thread\""
                ),
            ))
        }
    }
}

fn parse_workers(value: &Expr) -> syn::Result<Literal> {
    let Some(Lit::Int(n)) = lit(value) else {
        return Err(Error::new_spanned(
            value,
            "`worker_threads` takes an integer literal, such as `worker_threads = 4`",
        ));
    };
    let parsed: usize = n.base10_parse()?;
    if parsed == 0 {
        return Err(Error::new(n.span(), "`worker_threads` must be at least 1"));
    }
    let mut out = Literal::usize_unsuffixed(parsed);
    out.set_span(n.span());
    Ok(out)
}

fn parse_name(value: &Expr) -> syn::Result<syn::LitStr> {
    match lit(value) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(Error::new_spanned(
            value,
            "`name` takes a string, the runtime's thread name: `name = \"my-server\"`",
        )),
    }
}

fn parse_crate(value: &Expr) -> syn::Result<Path> {
    let bad = |span| {
        Error::new(
            span,
            "`crate` takes the path of the netpoll crate as a string, such as `crate = \"netpoll\"` \
             or `crate = \"::my_crate::netpoll\"`",
        )
    };
    let Some(Lit::Str(s)) = lit(value) else {
        return Err(bad(value.span()));
    };
    s.parse::<Path>().map_err(|_| bad(s.span()))
}

/// The candidate nearest to `word`, if it is a plausible typo of it.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| *c != '_' && *c != '-' && *c != ' ')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let word = norm(word);
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &norm(c)), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest("multi_thred", FLAVORS), Some("multi_thread"));
        assert_eq!(closest("multi-thread", FLAVORS), Some("multi_thread"));
        assert_eq!(closest("CurrentThread", FLAVORS), Some("current_thread"));
        assert_eq!(closest("local", FLAVORS), None);
        assert_eq!(closest("worker_thread", ARGS), Some("worker_threads"));
        assert_eq!(closest("flavour", ARGS), Some("flavor"));
        assert_eq!(closest("paused", ARGS), None);
    }

    fn expand_str(kind: Kind, args: &str, item: &str) -> String {
        expand(kind, args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn main_shape() {
        let out = expand_str(Kind::Main, "", "async fn main() { println!(\"hi\") }");
        assert!(out.contains(":: netpoll :: runtime :: Builder :: new_multi_thread ()"));
        assert!(!out.contains("worker_threads"));
        assert!(!out.contains("async fn"));
        assert!(!out.contains("compile_error"));
    }

    #[test]
    fn test_shape() {
        let out = expand_str(
            Kind::Test,
            "flavor = \"multi_thread\", worker_threads = 3, crate = \"np\"",
            "#[test] async fn t() {}",
        );
        assert!(out.contains("np :: runtime :: Builder :: new_multi_thread ()"));
        assert!(out.contains(". worker_threads (3)"));
        // The duplicate `#[test]` is reported and dropped, the header is kept.
        assert!(out.contains("compile_error"));
        assert_eq!(out.matches(":: v1 :: test]").count(), 1, "{out}");
        assert!(!out.contains("# [test]"), "{out}");
    }

    #[test]
    fn inner_attributes_stay_inside() {
        let out = expand_str(
            Kind::Main,
            "",
            "async fn main() { #![allow(unused)] let x = 1; }",
        );
        assert!(
            out.starts_with("fn main () { # ! [allow (unused)]"),
            "{out}"
        );
    }
}
