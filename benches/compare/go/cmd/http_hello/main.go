// http_hello ADDR: net/http answering GET and HEAD with "Hello, World!", 405 otherwise.
//
// net/http is what Go users write; it does keep-alive and answers pipelined requests in order.
// Request heads are capped at 8 KiB (431 beyond), as in netpoll's example.
package main

import (
	"net/http"
	"os"

	"netpollcompare/internal/serve"
)

var body = []byte("Hello, World!")

func hello(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", "13")
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

func main() {
	if len(os.Args) != 2 {
		serve.Usage("http_hello ADDR")
	}
	serve.HTTP(os.Args[1], &http.Server{
		Handler:        http.HandlerFunc(hello),
		MaxHeaderBytes: 8 << 10,
	})
}
