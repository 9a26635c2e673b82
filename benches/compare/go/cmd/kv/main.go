// kv ADDR: a RESP2 (Redis protocol) server for redis-cli and redis-benchmark.
//
// Commands: PING [msg], ECHO msg, SET key value, GET, DEL, EXISTS, INCR, QUIT, and the ones the
// Redis tools ask at start (COMMAND, CONFIG GET) answered minimally; inline commands too.
// One map behind a sync.RWMutex; per connection a bufio.Reader and a bufio.Writer that is
// flushed when no more input is buffered, so a pipelined batch gets its replies in one write.
// A bulk string over 32 MiB, more than 1M arguments, or an inline line over the 16 KiB read
// buffer is a protocol error, answered and then the connection is closed.
package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"netpollcompare/internal/serve"
)

const (
	maxBulk = 32 << 20
	maxArgs = 1 << 20
	bufSize = 16 << 10
)

type store struct {
	mu sync.RWMutex
	m  map[string][]byte
}

type protocolError string

func (e protocolError) Error() string { return string(e) }

// readLine returns one line without its CRLF (or LF).
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, protocolError("too big inline request")
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func readInt(r *bufio.Reader) (int, error) {
	line, err := readLine(r)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(line))
	if err != nil {
		return 0, protocolError("invalid length")
	}
	return n, nil
}

// readCommand reads one command: an array of bulk strings, or an inline line.
func readCommand(r *bufio.Reader) ([][]byte, error) {
	first, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] != '*' {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		var args [][]byte
		for _, f := range strings.Fields(string(line)) {
			args = append(args, []byte(f))
		}
		return args, nil
	}
	r.ReadByte()
	count, err := readInt(r)
	if err != nil {
		return nil, err
	}
	if count > maxArgs {
		return nil, protocolError("invalid multibulk length")
	}
	if count <= 0 {
		return nil, nil
	}
	args := make([][]byte, count)
	for i := range args {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b != '$' {
			return nil, protocolError("expected '$'")
		}
		n, err := readInt(r)
		if err != nil {
			return nil, err
		}
		if n < 0 || n > maxBulk {
			return nil, protocolError("invalid bulk length")
		}
		arg := make([]byte, n+2)
		if _, err := io.ReadFull(r, arg); err != nil {
			return nil, err
		}
		if arg[n] != '\r' || arg[n+1] != '\n' {
			return nil, protocolError("expected CRLF")
		}
		args[i] = arg[:n]
	}
	return args, nil
}

func bulk(w *bufio.Writer, v []byte) {
	w.WriteByte('$')
	w.WriteString(strconv.Itoa(len(v)))
	w.WriteString("\r\n")
	w.Write(v)
	w.WriteString("\r\n")
}

func integer(w *bufio.Writer, n int64) {
	w.WriteByte(':')
	w.WriteString(strconv.FormatInt(n, 10))
	w.WriteString("\r\n")
}

func wrongArgs(w *bufio.Writer, name string) {
	w.WriteString("-ERR wrong number of arguments for '" + strings.ToLower(name) + "' command\r\n")
}

// execute runs one command; it returns false when the connection should close (QUIT).
func (s *store) execute(args [][]byte, w *bufio.Writer) bool {
	name := string(args[0])
	n := len(args)
	switch strings.ToUpper(name) {
	case "GET":
		if n != 2 {
			wrongArgs(w, name)
			break
		}
		s.mu.RLock()
		v, ok := s.m[string(args[1])]
		s.mu.RUnlock()
		if ok {
			bulk(w, v)
		} else {
			w.WriteString("$-1\r\n")
		}
	case "SET":
		if n < 3 {
			wrongArgs(w, name)
		} else if n > 3 {
			w.WriteString("-ERR syntax error\r\n")
		} else {
			s.mu.Lock()
			s.m[string(args[1])] = args[2]
			s.mu.Unlock()
			w.WriteString("+OK\r\n")
		}
	case "PING":
		switch n {
		case 1:
			w.WriteString("+PONG\r\n")
		case 2:
			bulk(w, args[1])
		default:
			wrongArgs(w, name)
		}
	case "ECHO":
		if n != 2 {
			wrongArgs(w, name)
		} else {
			bulk(w, args[1])
		}
	case "DEL":
		if n < 2 {
			wrongArgs(w, name)
			break
		}
		count := 0
		s.mu.Lock()
		for _, k := range args[1:] {
			if _, ok := s.m[string(k)]; ok {
				delete(s.m, string(k))
				count++
			}
		}
		s.mu.Unlock()
		integer(w, int64(count))
	case "EXISTS":
		if n < 2 {
			wrongArgs(w, name)
			break
		}
		count := 0
		s.mu.RLock()
		for _, k := range args[1:] {
			if _, ok := s.m[string(k)]; ok {
				count++
			}
		}
		s.mu.RUnlock()
		integer(w, int64(count))
	case "INCR":
		if n != 2 {
			wrongArgs(w, name)
			break
		}
		s.mu.Lock()
		var cur int64
		var err error
		if v, ok := s.m[string(args[1])]; ok {
			cur, err = strconv.ParseInt(string(v), 10, 64)
		}
		if err != nil || cur == 1<<63-1 {
			s.mu.Unlock()
			w.WriteString("-ERR value is not an integer or out of range\r\n")
			break
		}
		cur++
		s.m[string(args[1])] = []byte(strconv.FormatInt(cur, 10))
		s.mu.Unlock()
		integer(w, cur)
	case "CONFIG":
		// redis-benchmark asks for `save` and `appendonly`: answer with empty values.
		if n == 3 && strings.EqualFold(string(args[1]), "get") {
			w.WriteString("*2\r\n")
			bulk(w, args[2])
			bulk(w, nil)
		} else {
			w.WriteString("*0\r\n")
		}
	case "COMMAND":
		w.WriteString("*0\r\n")
	case "QUIT":
		w.WriteString("+OK\r\n")
		return false
	default:
		w.WriteString("-ERR unknown command '" + name + "'\r\n")
	}
	return true
}

func main() {
	if len(os.Args) != 2 {
		serve.Usage("kv ADDR")
	}
	s := &store{m: make(map[string][]byte)}
	serve.TCP(os.Args[1], func(c *net.TCPConn) {
		r := bufio.NewReaderSize(c, bufSize)
		w := bufio.NewWriterSize(c, bufSize)
		for {
			args, err := readCommand(r)
			if err != nil {
				var perr protocolError
				if errors.As(err, &perr) {
					w.WriteString("-ERR Protocol error: " + perr.Error() + "\r\n")
					w.Flush()
					c.CloseWrite()
				}
				return
			}
			open := len(args) == 0 || s.execute(args, w)
			if !open || r.Buffered() == 0 {
				if w.Flush() != nil {
					return
				}
			}
			if !open {
				c.CloseWrite()
				return
			}
		}
	})
}
