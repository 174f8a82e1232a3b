// Command netclient is the guest of the --net nat tests: a client of
// services outside the guest.
//
//	netclient get URL          GET URL, print the body
//	netclient lookup NAME      resolve NAME, print its addresses sorted
//	netclient lookuptcp NAME   the same, asking the DNS server over TCP
//	netclient udp ADDR MSG     send MSG to ADDR over UDP, print the reply
//	netclient dial ADDR        connect over TCP, print "connected" or the error
//	netclient resolvconf       print /etc/resolv.conf
//	netclient cat FILE         print FILE
//
// Failures print the error and exit 1.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"time"
)

func fail(err error) {
	fmt.Println("error:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: netclient get|lookup|udp|dial|resolvconf ..."))
	}
	arg := func(i int) string {
		if len(os.Args) <= i {
			fail(fmt.Errorf("missing argument"))
		}
		return os.Args[i]
	}
	switch os.Args[1] {
	case "get":
		c := &http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get(arg(2))
		if err != nil {
			fail(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fail(err)
		}
		fmt.Printf("%d %s", resp.StatusCode, b)
	case "lookup", "lookuptcp":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r := net.DefaultResolver
		if os.Args[1] == "lookuptcp" {
			r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			}}
		}
		addrs, err := r.LookupHost(ctx, arg(2))
		if err != nil {
			fail(err)
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			fmt.Println(a)
		}
	case "udp":
		c, err := net.Dial("udp", arg(2))
		if err != nil {
			fail(err)
		}
		buf := make([]byte, 65536)
		for try := 0; ; try++ {
			if _, err := c.Write([]byte(arg(3))); err != nil {
				fail(err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Read(buf)
			if err == nil {
				fmt.Printf("%s\n", buf[:n])
				return
			}
			if try == 4 {
				fail(err)
			}
		}
	case "dial":
		c, err := net.DialTimeout("tcp", arg(2), 30*time.Second)
		if err != nil {
			fail(err)
		}
		c.Close()
		fmt.Println("connected")
	case "resolvconf", "cat":
		name := "/etc/resolv.conf"
		if os.Args[1] == "cat" {
			name = arg(2)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(b)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
