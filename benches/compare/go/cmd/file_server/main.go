// file_server ADDR ROOT: http.FileServer over ROOT. It sends a file's body with io.Copy to the
// connection, which net/http hands to TCPConn.ReadFrom: sendfile(2). Unlike netpoll's example,
// http.Dir follows symlinks that point outside ROOT (the benchmark has none).
package main

import (
	"fmt"
	"net/http"
	"os"

	"netpollcompare/internal/serve"
)

func main() {
	if len(os.Args) != 3 {
		serve.Usage("file_server ADDR ROOT")
	}
	if st, err := os.Stat(os.Args[2]); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "file_server: %s: not a directory\n", os.Args[2])
		os.Exit(2)
	}
	serve.HTTP(os.Args[1], &http.Server{
		Handler:        http.FileServer(http.Dir(os.Args[2])),
		MaxHeaderBytes: 8 << 10,
	})
}
