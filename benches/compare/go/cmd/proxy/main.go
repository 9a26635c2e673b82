// proxy LISTEN UPSTREAM: per connection, dial UPSTREAM and io.Copy both ways (splice(2)
// between the sockets), propagating each half-close; both are closed when both are done.
package main

import (
	"io"
	"net"
	"os"

	"netpollcompare/internal/serve"
)

func main() {
	if len(os.Args) != 3 {
		serve.Usage("proxy LISTEN UPSTREAM")
	}
	upstream := os.Args[2]
	serve.TCP(os.Args[1], func(in *net.TCPConn) {
		c, err := net.Dial("tcp", upstream)
		if err != nil {
			return
		}
		out := c.(*net.TCPConn)
		defer out.Close()
		done := make(chan struct{})
		go func() {
			io.Copy(out, in)
			out.CloseWrite()
			close(done)
		}()
		io.Copy(in, out)
		in.CloseWrite()
		<-done
	})
}
