package ports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Check is one smoke check. Exactly one of HTTP, DNS, TCP, Command and
// Stdio is set. Network and command checks run, in order, against one
// booted image with every guest port forwarded from a free port on [::1];
// a Stdio check runs the image once with its own arguments and standard
// input.
type Check struct {
	Name    string        `json:"name"`
	HTTP    *HTTPCheck    `json:"http,omitempty"`
	DNS     *DNSCheck     `json:"dns,omitempty"`
	TCP     *TCPCheck     `json:"tcp,omitempty"`
	Command *CommandCheck `json:"command,omitempty"`
	Stdio   *StdioCheck   `json:"stdio,omitempty"`
	// Gap, when set, says what rumpgo lacks for this check to pass: its
	// failure is reported as a known gap (a skip), and its passing as
	// news (the recipe's note is stale).
	Gap string `json:"gap,omitempty"`
	// Restart stops the guest and boots the image again (same ports,
	// same volume directories) before a network or command check.
	Restart bool `json:"restart,omitempty"`
}

// HTTPCheck sends Method (default GET) for Path, with Body, to the
// guest's TCP Port and wants status 200 and a body containing Want.
type HTTPCheck struct {
	Port   int    `json:"port"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path"`
	Body   string `json:"body,omitempty"`
	Want   string `json:"want"`
}

// DNSCheck asks the guest's Port (UDP, or TCP when TCP is set) for Name
// of Type (A, AAAA, or SRV written "priority weight port target.") and
// wants Want among the answers.
type DNSCheck struct {
	Port int    `json:"port"`
	Name string `json:"name"`
	Type string `json:"type"`
	Want string `json:"want"`
	TCP  bool   `json:"tcp,omitempty"`
}

// TCPCheck connects to the guest's TCP Port, sends Send and wants the
// replies to contain Want (within 5 s).
type TCPCheck struct {
	Port int    `json:"port"`
	Send string `json:"send"`
	Want string `json:"want"`
}

// CommandCheck runs a program on the host while the guest runs and wants
// it to exit 0 with stdout containing each of Want. Args[0] names one of
// the recipe's tools, else a program on the host's $PATH. In Args,
// {port:GUESTPORT} stands for the host port forwarded to the guest's TCP
// GUESTPORT ({port:GUESTPORT/udp}: UDP) and {volume:PATH} for the host
// directory of the volume mounted at PATH.
type CommandCheck struct {
	Args  []string `json:"args"`
	Stdin string   `json:"stdin,omitempty"`
	Want  []string `json:"want"`
}

// placeholder matches {port:GUESTPORT} and {volume:PATH} in command args.
var placeholder = regexp.MustCompile(`\{(port|volume):([^}]*)\}`)

// expand replaces the placeholders of arg, or says which is unknown.
func expand(arg string, hostPort map[string]int, volumes map[string]string) (string, error) {
	var bad error
	out := placeholder.ReplaceAllStringFunc(arg, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		if sub[1] == "port" {
			if hp, ok := hostPort[sub[2]]; ok {
				return strconv.Itoa(hp)
			}
		} else if dir, ok := volumes[sub[2]]; ok {
			return dir
		}
		bad = fmt.Errorf("%s: not a published port or a volume of the recipe", m)
		return m
	})
	return out, bad
}

// StdioCheck runs the image with Args (replacing its default ones) and
// Stdin, and wants stdout to contain each of Want.
type StdioCheck struct {
	Args  []string `json:"args"`
	Stdin string   `json:"stdin,omitempty"`
	Want  []string `json:"want"`
}

func (c *Check) validate(r *Recipe) error {
	n := 0
	for _, set := range []bool{c.HTTP != nil, c.DNS != nil, c.TCP != nil, c.Command != nil, c.Stdio != nil} {
		if set {
			n++
		}
	}
	if n != 1 || c.Name == "" {
		return fmt.Errorf("want a name and exactly one of http, dns, tcp, command, stdio")
	}
	if c.Restart && c.Stdio != nil {
		return fmt.Errorf("restart applies to network and command checks only")
	}
	published := func(port int, proto string) error {
		want := strconv.Itoa(port)
		if proto == "udp" {
			want += "/udp"
		}
		for _, p := range r.Ports {
			if p == want {
				return nil
			}
		}
		return fmt.Errorf("port %s is not in the recipe's ports", want)
	}
	switch {
	case c.HTTP != nil:
		switch c.HTTP.Method {
		case "", "GET", "POST", "PUT", "DELETE":
		default:
			return fmt.Errorf("http method %q: want GET, POST, PUT or DELETE", c.HTTP.Method)
		}
		return published(c.HTTP.Port, "tcp")
	case c.Command != nil:
		if len(c.Command.Args) == 0 || c.Command.Args[0] == "" {
			return fmt.Errorf("command: want args, the first a tool or host program")
		}
		ports, volumes := map[string]int{}, map[string]string{}
		for _, p := range r.Ports {
			ports[p] = 0
		}
		for _, v := range r.Volumes {
			volumes[v] = v
		}
		for _, a := range c.Command.Args {
			if _, err := expand(a, ports, volumes); err != nil {
				return err
			}
		}
	case c.TCP != nil:
		return published(c.TCP.Port, "tcp")
	case c.DNS != nil:
		if _, ok := dnsTypes[c.DNS.Type]; !ok {
			return fmt.Errorf("dns type %q: want A, AAAA or SRV", c.DNS.Type)
		}
		if c.DNS.TCP {
			return published(c.DNS.Port, "tcp")
		}
		return published(c.DNS.Port, "udp")
	}
	return nil
}

// Result is one check's outcome: Err nil is a pass.
type Result struct {
	Check   Check
	Err     error
	Elapsed time.Duration
}

// Status is PASS, FAIL, GAP (failed on the recipe's known gap) or
// GAP-CLOSED (a check marked as a gap passed).
func (r Result) Status() string {
	switch {
	case r.Err == nil && r.Check.Gap != "":
		return "GAP-CLOSED"
	case r.Err == nil:
		return "PASS"
	case r.Check.Gap != "":
		return "GAP"
	}
	return "FAIL"
}

// Report is what Test found.
type Report struct {
	// Ready is how long the server took from `rumpgo run` to answering its
	// first check (0 when the recipe has no network checks).
	Ready   time.Duration
	Results []Result
	// Stderr is the server guest's standard error.
	Stderr string
}

// Test boots image with `rumpgo run` (the rumpgo binary) and runs the
// recipe's checks, logging each to log. tools are the host paths of the
// recipe's tools (FetchTools).
func (r *Recipe) Test(ctx context.Context, rumpgo, image string, tools map[string]string, log io.Writer) (*Report, error) {
	rep := &Report{}
	var network []Check
	for _, c := range r.Smoke {
		if c.Stdio != nil {
			start := time.Now()
			err := runStdio(ctx, rumpgo, image, r.Ports, c.Stdio)
			rep.add(log, Result{Check: c, Err: err, Elapsed: time.Since(start)})
		} else {
			network = append(network, c)
		}
	}
	if len(network) == 0 {
		return rep, nil
	}
	// Forward every published guest port from a free one on [::1].
	hostPort := map[string]int{}
	args := []string{"run"}
	for _, p := range r.Ports {
		hp, err := freePort(strings.HasSuffix(p, "/udp"))
		if err != nil {
			return nil, err
		}
		hostPort[p] = hp
		args = append(args, "-p", fmt.Sprintf("[::1]:%d:%s", hp, p))
	}
	// Every volume on a fresh host directory.
	volumes := map[string]string{}
	for _, v := range r.Volumes {
		dir, err := os.MkdirTemp("", "rumpgo-port-volume-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		volumes[v] = dir
		args = append(args, "-v", dir+":"+v)
	}
	args = append(args, image)
	// boot starts the guest; stop ends it and keeps its stderr.
	var (
		stop   func()
		exited chan struct{}
		start  time.Time
	)
	boot := func() error {
		gctx, cancel := context.WithCancel(ctx)
		cmd := exec.CommandContext(gctx, rumpgo, args...)
		stderr := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		start = time.Now()
		if err := cmd.Start(); err != nil {
			cancel()
			return err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		exited = done
		stop = func() {
			cancel()
			<-done
			rep.Stderr += stderr.String()
		}
		return nil
	}
	if err := boot(); err != nil {
		return nil, err
	}
	defer func() { stop() }()
	for i, c := range network {
		var run func() error
		switch {
		case c.HTTP != nil:
			hp := hostPort[strconv.Itoa(c.HTTP.Port)]
			run = func() error { return httpGet(ctx, hp, c.HTTP) }
		case c.TCP != nil:
			hp := hostPort[strconv.Itoa(c.TCP.Port)]
			run = func() error { return tcpExchange(hp, c.TCP) }
		case c.DNS != nil:
			key := strconv.Itoa(c.DNS.Port)
			if !c.DNS.TCP {
				key += "/udp"
			}
			hp := hostPort[key]
			run = func() error { return dnsQuery(hp, c.DNS) }
		case c.Command != nil:
			run = func() error { return runCommand(ctx, c.Command, tools, hostPort, volumes) }
		}
		if c.Restart {
			stop()
			fmt.Fprintf(log, "restarting the guest (its volumes kept)\n")
			if err := boot(); err != nil {
				return nil, err
			}
		}
		t0 := time.Now()
		// The first check after a boot also waits for the server to come
		// up; one that hits a known gap is given less time.
		wait := 5 * time.Second
		switch {
		case (i == 0 || c.Restart) && c.Gap != "":
			wait = 8 * time.Second
		case i == 0 || c.Restart:
			wait = 60 * time.Second
			if r.ReadySeconds > 0 {
				wait = time.Duration(r.ReadySeconds) * time.Second
			}
		}
		err := retry(ctx, exited, wait, run)
		if err == nil && rep.Ready == 0 {
			rep.Ready = time.Since(start)
		}
		rep.add(log, Result{Check: c, Err: err, Elapsed: time.Since(t0)})
	}
	return rep, nil
}

func (rep *Report) add(log io.Writer, res Result) {
	rep.Results = append(rep.Results, res)
	line := fmt.Sprintf("%-10s %s (%v)", res.Status(), res.Check.Name, res.Elapsed.Round(time.Millisecond))
	if res.Err != nil {
		line += ": " + res.Err.Error()
	}
	if res.Check.Gap != "" {
		line += " [known gap: " + res.Check.Gap + "]"
	}
	fmt.Fprintln(log, line)
}

// Failed reports whether a check failed that is not a known gap.
func (rep *Report) Failed() bool {
	for _, r := range rep.Results {
		if r.Status() == "FAIL" {
			return true
		}
	}
	return false
}

// retry runs f until it succeeds, the guest exits, or d passes.
func retry(ctx context.Context, exited <-chan struct{}, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%v (the guest exited)", err)
		case <-ctx.Done():
			return err
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(udp bool) (int, error) {
	if udp {
		pc, err := net.ListenPacket("udp6", "[::1]:0")
		if err != nil {
			return 0, err
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func httpGet(ctx context.Context, port int, c *HTTPCheck) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	method := c.Method
	if method == "" {
		method = "GET"
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://[::1]:%d%s", port, c.Path), body)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), c.Want) {
		return fmt.Errorf("%s %s: %s, body %q, want 200 and %q", method, c.Path, resp.Status, trim(b), c.Want)
	}
	return nil
}

func tcpExchange(port int, c *TCPCheck) error {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("[::1]:%d", port), 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, c.Send); err != nil {
		return err
	}
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), c.Want) {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if n > 0 {
			// An answer that has stopped coming without what we want is
			// a failed try: let the caller's retry ask again soon.
			conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
		if err != nil {
			return fmt.Errorf("sent %q, got %q (%v), want %q", c.Send, trim(got), err, c.Want)
		}
	}
	return nil
}

// runCommand runs a command check's program (a tool, else one on $PATH)
// with its placeholders expanded.
func runCommand(ctx context.Context, c *CommandCheck, tools map[string]string, hostPort map[string]int, volumes map[string]string) error {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		var err error
		if args[i], err = expand(a, hostPort, volumes); err != nil {
			return err
		}
	}
	prog, ok := tools[args[0]]
	if !ok {
		p, err := exec.LookPath(args[0])
		if err != nil {
			return fmt.Errorf("%s: neither a tool of the recipe nor on the host's $PATH", args[0])
		}
		prog = p
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args[1:]...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return fmt.Errorf("%s: %v: stdout %q, stderr %q", strings.Join(args, " "), err, trim(stdout.Bytes()), trim(stderr.Bytes()))
	}
	for _, w := range c.Want {
		if !strings.Contains(stdout.String(), w) {
			return fmt.Errorf("%s: stdout %q lacks %q", strings.Join(args, " "), trim(stdout.Bytes()), w)
		}
	}
	return nil
}

func runStdio(ctx context.Context, rumpgo, image string, ports []string, c *StdioCheck) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Its ports from free ones on [::1], as the server's: the image's own
	// (host 8080 on every address) may be taken by anything else on the
	// machine, and a -p replaces them.
	args := []string{"run"}
	for _, p := range ports {
		hp, err := freePort(strings.HasSuffix(p, "/udp"))
		if err != nil {
			return err
		}
		args = append(args, "-p", fmt.Sprintf("[::1]:%d:%s", hp, p))
	}
	cmd := exec.CommandContext(ctx, rumpgo, append(append(args, image), c.Args...)...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	for _, w := range c.Want {
		if !strings.Contains(stdout.String(), w) {
			return fmt.Errorf("stdout %q lacks %q (exit: %v; stderr %q)", trim(stdout.Bytes()), w, err, trim(stderr.Bytes()))
		}
	}
	return nil
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

var dnsTypes = map[string]uint16{"A": 1, "AAAA": 28, "SRV": 33}

// dnsQuery asks one question and checks the answers: a minimal client
// (RFC 1035 message format) so the test needs no DNS library.
func dnsQuery(port int, c *DNSCheck) error {
	qtype := dnsTypes[c.Type]
	id := uint16(time.Now().UnixNano())
	var q bytes.Buffer
	binary.Write(&q, binary.BigEndian, [6]uint16{id, 0x0100, 1, 0, 0, 0}) // RD, one question
	for _, label := range strings.Split(strings.TrimSuffix(c.Name, "."), ".") {
		q.WriteByte(byte(len(label)))
		q.WriteString(label)
	}
	q.WriteByte(0)
	binary.Write(&q, binary.BigEndian, [2]uint16{qtype, 1})
	addr := fmt.Sprintf("[::1]:%d", port)
	var resp []byte
	if c.TCP {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		msg := append(binary.BigEndian.AppendUint16(nil, uint16(q.Len())), q.Bytes()...)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		br := bufio.NewReader(conn)
		var n uint16
		if err := binary.Read(br, binary.BigEndian, &n); err != nil {
			return err
		}
		resp = make([]byte, n)
		if _, err := io.ReadFull(br, resp); err != nil {
			return err
		}
	} else {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := conn.Write(q.Bytes()); err != nil {
			return err
		}
		resp = make([]byte, 4096)
		n, err := conn.Read(resp)
		if err != nil {
			return err
		}
		resp = resp[:n]
	}
	answers, rcode, err := parseAnswers(resp, id, qtype)
	if err != nil {
		return err
	}
	for _, a := range answers {
		if a == c.Want {
			return nil
		}
	}
	return fmt.Errorf("%s %s: rcode %d, answers %v, want %s", c.Name, c.Type, rcode, answers, c.Want)
}

// parseAnswers returns the answers of type qtype: addresses, or SRV
// records as "priority weight port target.".
func parseAnswers(m []byte, id, qtype uint16) ([]string, int, error) {
	bad := errors.New("malformed DNS answer")
	if len(m) < 12 || binary.BigEndian.Uint16(m) != id {
		return nil, 0, bad
	}
	rcode := int(m[3] & 0xf)
	qd, an := binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:])
	off := 12
	skipName := func() bool {
		for off < len(m) {
			l := int(m[off])
			switch {
			case l == 0:
				off++
				return true
			case l&0xc0 == 0xc0:
				off += 2
				return off <= len(m)
			}
			off += 1 + l
		}
		return false
	}
	for i := 0; i < int(qd); i++ {
		if !skipName() || off+4 > len(m) {
			return nil, rcode, bad
		}
		off += 4
	}
	var out []string
	for i := 0; i < int(an); i++ {
		if !skipName() || off+10 > len(m) {
			return nil, rcode, bad
		}
		typ := binary.BigEndian.Uint16(m[off:])
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+rdlen > len(m) {
			return nil, rcode, bad
		}
		switch {
		case typ == qtype && qtype == dnsTypes["SRV"] && rdlen > 6:
			target, ok := dnsName(m, off+6)
			if !ok {
				return nil, rcode, bad
			}
			b := m[off:]
			out = append(out, fmt.Sprintf("%d %d %d %s", binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint16(b[4:]), target))
		case typ == qtype && (rdlen == 4 || rdlen == 16):
			out = append(out, net.IP(m[off:off+rdlen]).String())
		}
		off += rdlen
	}
	return out, rcode, nil
}

// dnsName reads the (possibly compressed) domain name at off in message m,
// as "a.b.c.".
func dnsName(m []byte, off int) (string, bool) {
	var name strings.Builder
	for jumps := 0; jumps < 16; {
		if off >= len(m) {
			return "", false
		}
		l := int(m[off])
		switch {
		case l == 0:
			if name.Len() == 0 {
				return ".", true
			}
			return name.String(), true
		case l&0xc0 == 0xc0:
			if off+1 >= len(m) {
				return "", false
			}
			off = int(binary.BigEndian.Uint16(m[off:]) & 0x3fff)
			jumps++
			continue
		case off+1+l > len(m):
			return "", false
		}
		name.Write(m[off+1 : off+1+l])
		name.WriteByte('.')
		off += 1 + l
	}
	return "", false
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
