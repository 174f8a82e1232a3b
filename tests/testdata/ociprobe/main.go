// Command ociprobe is the container program of the OCI runtime's tests
// (tests/oci): run natively under runc and as a rumpgo guest, it prints
// what a container's process sees, and can wait for signals or serve
// HTTP.
//
//	ociprobe info [STATUS]  print args, cwd, ids, hostname, env and files; exit STATUS
//	ociprobe wait           print "waiting", then on SIGTERM print "got terminated" and exit 0
//	ociprobe sleep          sleep forever (the default SIGTERM action ends it)
//	ociprobe serve PORT     answer HTTP on PORT with "hello from ociprobe"
//	ociprobe write FILE     write "written" to FILE, print its contents back
//	ociprobe cat            copy stdin to stdout, then print "bytes: N"
//	ociprobe tty            print which of fds 0-2 are terminals and the window size
//	ociprobe winch          print the window size, then on SIGWINCH the new one and exit 0
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ociprobe info|wait|sleep|serve|write|cat ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "info":
		info()
		if len(os.Args) > 2 {
			n, _ := strconv.Atoi(os.Args[2])
			os.Exit(n)
		}
	case "wait":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("waiting")
		<-c
		fmt.Println("got terminated")
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
	case "serve":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "hello from ociprobe")
		})
		fmt.Println("serving on", os.Args[2])
		if err := http.ListenAndServe(":"+os.Args[2], nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "write":
		err := os.WriteFile(os.Args[2], []byte("written\n"), 0o644)
		if err != nil {
			fmt.Println("write:", err)
			os.Exit(1)
		}
		b, _ := os.ReadFile(os.Args[2])
		fmt.Print(string(b))
	case "tty":
		for fd := 0; fd < 3; fd++ {
			_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
			fmt.Printf("fd %d terminal: %v\n", fd, err == nil)
		}
		if ws, err := unix.IoctlGetWinsize(1, unix.TIOCGWINSZ); err == nil {
			fmt.Printf("size: %d %d\n", ws.Row, ws.Col)
		}
	case "winch":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGWINCH)
		ws, err := unix.IoctlGetWinsize(1, unix.TIOCGWINSZ)
		if err != nil {
			fmt.Println("TIOCGWINSZ:", err)
			os.Exit(1)
		}
		fmt.Printf("size: %d %d\n", ws.Row, ws.Col)
		<-c
		ws, _ = unix.IoctlGetWinsize(1, unix.TIOCGWINSZ)
		fmt.Printf("resized: %d %d\n", ws.Row, ws.Col)
	case "cat":
		n, err := io.Copy(os.Stdout, os.Stdin)
		if err != nil {
			fmt.Println("cat:", err)
			os.Exit(1)
		}
		fmt.Println("bytes:", n)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func info() {
	fmt.Println("args:", strings.Join(os.Args[1:], " "))
	wd, _ := os.Getwd()
	fmt.Println("cwd:", wd)
	fmt.Println("uid:", os.Getuid(), "gid:", os.Getgid())
	h, _ := os.Hostname()
	fmt.Println("hostname:", h)
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "PROBE_") {
			env = append(env, e)
		}
	}
	sort.Strings(env)
	fmt.Println("env:", strings.Join(env, " "))
	for _, f := range strings.Split(os.Getenv("PROBE_FILES"), ",") {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Printf("file %s: error\n", f)
			continue
		}
		fmt.Printf("file %s: %q\n", f, string(b))
	}
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	fmt.Println("nofile:", rl.Cur, rl.Max)
}
