// Command httpserve is the guest of the forwarding tests and the HTTP
// benchmark: a Go net/http server answering "hello\n" on ADDR, or with
// -udp a UDP echo server. It prints "ready" once it listens. GET /bulk
// answers 64 MiB, for throughput; GET /peer the client's address, as is
// the UDP datagram "peer?".
//
//	httpserve [-udp] ADDR
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	udp := flag.Bool("udp", false, "serve UDP echo instead of HTTP")
	flag.Parse()
	addr := flag.Arg(0)
	if *udp {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ready")
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			if string(buf[:n]) == "peer?" {
				pc.WriteTo([]byte("peer "+from.String()), from)
				continue
			}
			pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ready")
	hello := []byte("hello\n")
	chunk := make([]byte, 1<<20)
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/peer" {
			fmt.Fprint(w, r.RemoteAddr)
			return
		}
		if r.URL.Path == "/bulk" {
			// 64 MiB for the throughput benchmark.
			for i := 0; i < 64; i++ {
				w.Write(chunk)
			}
			return
		}
		w.Write(hello)
	}))
	fmt.Println(err)
	os.Exit(1)
}
