// Program goexec runs its own binary as child processes through os/exec,
// as Go test suites and services do: output, stdin and stdout pipes, exit
// codes, the environment, a killed child, a two-process pipeline and a
// missing program. Its output must be the same natively and under rumpgo.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

func child(args []string) {
	switch args[0] {
	case "echo":
		fmt.Println(strings.Join(args[1:], " "))
	case "upper":
		b, _ := io.ReadAll(os.Stdin)
		fmt.Print(strings.ToUpper(string(b)))
	case "exit":
		var n int
		fmt.Sscan(args[1], &n)
		fmt.Fprintln(os.Stderr, "exiting with", n)
		os.Exit(n)
	case "env":
		fmt.Printf("FOO=%q HOME set=%v args=%q\n", os.Getenv("FOO"), os.Getenv("HOME") != "", args[1:])
	case "count":
		n := 0
		sc := bufio.NewScanner(os.Stdin)
		sc.Split(bufio.ScanWords)
		for sc.Scan() {
			n++
		}
		fmt.Println(n, "words")
	case "sleep":
		time.Sleep(time.Hour)
	case "ppid":
		fmt.Println("parent is the caller:", os.Getppid() == mustAtoi(args[1]))
	}
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "child" {
		child(os.Args[2:])
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Println("os.Executable:", err)
		os.Exit(1)
	}
	cmd := func(args ...string) *exec.Cmd { return exec.Command(self, append([]string{"child"}, args...)...) }

	out, err := cmd("echo", "hello", "from", "a", "child").Output()
	fmt.Printf("output: %q err=%v\n", out, err)

	c := cmd("upper")
	c.Stdin = strings.NewReader("through stdin\n")
	out, err = c.Output()
	fmt.Printf("stdin: %q err=%v\n", out, err)

	c = cmd("upper")
	in, _ := c.StdinPipe()
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		fmt.Println("start:", err)
	}
	go func() {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(in, "line %d\n", i)
		}
		in.Close()
	}()
	b, _ := io.ReadAll(stdout)
	fmt.Printf("pipes: %q wait=%v\n", b, c.Wait())

	c = cmd("exit", "3")
	out, err = c.CombinedOutput()
	fmt.Printf("exit: %q code=%d err=%v\n", out, c.ProcessState.ExitCode(), err)

	c = cmd("env", "a b", "")
	c.Env = []string{"FOO=bar baz"}
	out, err = c.Output()
	fmt.Printf("env: %s err=%v\n", strings.TrimSpace(string(out)), err)

	c = cmd("ppid", fmt.Sprint(os.Getpid()))
	out, _ = c.Output()
	fmt.Printf("ppid: %s", out)

	c = cmd("sleep")
	if err := c.Start(); err != nil {
		fmt.Println("start:", err)
	}
	c.Process.Kill()
	err = c.Wait()
	fmt.Printf("killed: err=%v exited=%v\n", err, c.ProcessState.Exited())

	// echo | count, each its own process, joined by a pipe.
	c1, c2 := cmd("echo", "one two three four"), cmd("count")
	c2.Stdin, _ = c1.StdoutPipe()
	var res strings.Builder
	c2.Stdout = &res
	fmt.Println("pipeline start:", c2.Start(), c1.Start())
	fmt.Println("pipeline wait:", c1.Wait(), c2.Wait())
	fmt.Printf("pipeline: %q\n", res.String())

	_, err = exec.Command("/nonexistent/program").Output()
	fmt.Println("missing:", err)
}
