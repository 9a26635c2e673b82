// Package serve holds what the Go peers of netpoll's example servers share: the command-line
// contract of those examples.
//
//   - GOMAXPROCS from NETPOLL_WORKERS (default: Go's, the number of cores);
//   - one line "listening on ADDR" on stdout once bound (os.Stdout is unbuffered);
//   - SIGINT/SIGTERM: stop accepting, give open connections up to 5 s, exit 0.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Grace is how long open connections may run on after SIGINT/SIGTERM.
const Grace = 5 * time.Second

// Usage prints the usage line and exits with status 2.
func Usage(text string) {
	fmt.Fprintf(os.Stderr, "usage: %s\n", text)
	os.Exit(2)
}

// setup applies NETPOLL_WORKERS, installs the signal handler and binds addr, then announces it.
func setup(addr string) (net.Listener, chan os.Signal) {
	if v, err := strconv.Atoi(strings.TrimSpace(os.Getenv("NETPOLL_WORKERS"))); err == nil && v > 0 {
		runtime.GOMAXPROCS(v)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot listen on %s: %v\n", addr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", l.Addr())
	return l, stop
}

// TCP serves addr with one goroutine per connection running handle, which owns the connection
// (it is closed when handle returns).
func TCP(addr string, handle func(c *net.TCPConn)) {
	l, stop := setup(addr)
	go func() {
		<-stop
		l.Close()
	}()
	var open sync.WaitGroup
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			fmt.Fprintf(os.Stderr, "accept: %v\n", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		open.Add(1)
		go func() {
			defer open.Done()
			defer c.Close()
			handle(c.(*net.TCPConn))
		}()
	}
	done := make(chan struct{})
	go func() {
		open.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(Grace):
	}
	os.Exit(0)
}

// HTTP serves addr with net/http; on SIGINT/SIGTERM it shuts the server down gracefully.
func HTTP(addr string, srv *http.Server) {
	l, stop := setup(addr)
	finished := make(chan struct{})
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), Grace)
		defer cancel()
		srv.Shutdown(ctx)
		close(finished)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
	<-finished
	os.Exit(0)
}
