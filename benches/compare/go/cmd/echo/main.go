// echo ADDR: echoes every byte; on the client's half-close it finishes echoing, then closes.
//
// io.Copy(c, c): TCPConn.ReadFrom moves the bytes with splice(2).
package main

import (
	"io"
	"net"
	"os"

	"netpollcompare/internal/serve"
)

func main() {
	if len(os.Args) != 2 {
		serve.Usage("echo ADDR")
	}
	serve.TCP(os.Args[1], func(c *net.TCPConn) {
		if _, err := io.Copy(c, c); err == nil {
			c.CloseWrite()
		}
	})
}
