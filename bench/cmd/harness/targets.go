package main

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

//go:embed configs/nginx.conf configs/Caddyfile
var configs embed.FS

// benchHost is the Host header of every benchmark request: paastis routes
// it to its app "bench", and the other proxies ignore it.
const benchHost = "bench.localhost"

// startTimeout bounds the start of any process of the harness.
const startTimeout = 30 * time.Second

// target is one proxy under test, or the upstream itself.
type target struct {
	// Key is the target's short name in the tables.
	Key string
	// Label describes the target in the tables.
	Label string
	URL   string
	// pids returns the processes whose CPU time counts for the target.
	pids func() []int
	// redis is the server whose commands are counted around each run, or
	// nil.
	redis *redisServer
}

// childEnv returns a small environment for children, so that variables of
// the developer's shell, such as PORT, do not change what they do.
func (h *harness) childEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.tmp, "TMPDIR=" + h.tmp}
	return append(env, extra...)
}

// start runs a child and stops it when the harness ends.
func (h *harness) start(name, dir string, env []string, argv ...string) (*child, error) {
	c, err := startChild(name, dir, h.logDir, env, argv...)
	if err != nil {
		return nil, err
	}
	h.children = append(h.children, c)
	return c, nil
}

// startUpstream runs the bench upstream on a free port.
func (h *harness) startUpstream(ctx context.Context, name string) (*child, int, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	c, err := h.start(name, h.tmp, h.childEnv(), filepath.Join(h.bin, "upstream"), "-port", strconv.Itoa(port))
	if err != nil {
		return nil, 0, err
	}
	_, err = c.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/", port), "", startTimeout)
	return c, port, err
}

// proxyConfig holds the fields of the nginx and Caddy templates.
type proxyConfig struct {
	Dir          string
	Port         int
	UpstreamPort int
}

// writeConfig fills the embedded template name into dir.
func writeConfig(name, dir string, config proxyConfig) (string, error) {
	tmpl, err := template.ParseFS(configs, "configs/"+name)
	if err != nil {
		return "", fmt.Errorf("parse the %s template: %w", name, err)
	}
	path := filepath.Join(dir, name)
	file, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	if err := tmpl.Execute(file, config); err != nil {
		return "", fmt.Errorf("fill the %s template: %w", name, err)
	}
	return path, file.Close()
}

// startNginx runs nginx in the foreground with its own prefix, pid file
// and logs in a temporary directory.
func (h *harness) startNginx(ctx context.Context, upstreamPort int) (*target, error) {
	dir := filepath.Join(h.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	config, err := writeConfig("nginx.conf", dir, proxyConfig{Dir: dir, Port: port, UpstreamPort: upstreamPort})
	if err != nil {
		return nil, err
	}
	c, err := h.start("nginx", dir, h.childEnv(), "nginx", "-p", dir, "-c", config, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if _, err := c.waitHTTP(ctx, url, benchHost, startTimeout); err != nil {
		return nil, err
	}
	master := c.PID()
	return &target{
		Key:   "nginx",
		Label: "nginx proxy_pass, upstream keep-alive",
		URL:   url,
		// The master and its workers, found at each measure.
		pids: func() []int { return append([]int{master}, childrenOf(master)...) },
	}, nil
}

// startCaddy runs Caddy with the embedded Caddyfile, its data and config
// directories in a temporary directory.
func (h *harness) startCaddy(ctx context.Context, upstreamPort int) (*target, error) {
	dir := filepath.Join(h.tmp, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	config, err := writeConfig("Caddyfile", dir, proxyConfig{Dir: dir, Port: port, UpstreamPort: upstreamPort})
	if err != nil {
		return nil, err
	}
	env := h.childEnv("XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	c, err := h.start("caddy", dir, env, "caddy", "run", "--config", config, "--adapter", "caddyfile")
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if _, err := c.waitHTTP(ctx, url, benchHost, startTimeout); err != nil {
		return nil, err
	}
	pid := c.PID()
	return &target{Key: "caddy", Label: "Caddy reverse_proxy, defaults", URL: url, pids: func() []int { return []int{pid} }}, nil
}

// startGoProxy runs the default httputil.ReverseProxy of bench/cmd/goproxy.
func (h *harness) startGoProxy(ctx context.Context, upstreamPort int) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c, err := h.start("goproxy", h.tmp, h.childEnv(), filepath.Join(h.bin, "goproxy"),
		"-listen", listen, "-upstream", fmt.Sprintf("http://127.0.0.1:%d", upstreamPort))
	if err != nil {
		return nil, err
	}
	url := "http://" + listen + "/"
	if _, err := c.waitHTTP(ctx, url, benchHost, startTimeout); err != nil {
		return nil, err
	}
	pid := c.PID()
	return &target{Key: "httputil", Label: "httputil.ReverseProxy, defaults", URL: url, pids: func() []int { return []int{pid} }}, nil
}

// localApp is one app of a generated apps file of the local provider.
type localApp struct {
	Name          string
	Argv          []string
	Env           map[string]string
	Port          int
	ReadinessPath string
}

// writeAppsFile writes an apps file of the local provider.
func writeAppsFile(path string, apps []localApp) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	defer file.Close()
	w := bufio.NewWriter(file)
	fmt.Fprintln(w, "# Generated by the benchmark harness.")
	fmt.Fprintln(w, "apps:")
	for _, app := range apps {
		fmt.Fprintf(w, "  - name: %s\n", app.Name)
		quoted := make([]string, len(app.Argv))
		for i, arg := range app.Argv {
			quoted[i] = strconv.Quote(arg)
		}
		fmt.Fprintf(w, "    command: [%s]\n", strings.Join(quoted, ", "))
		fmt.Fprintf(w, "    port: %d\n", app.Port)
		if app.ReadinessPath != "" {
			fmt.Fprintf(w, "    readiness_path: %s\n", app.ReadinessPath)
		}
		if len(app.Env) > 0 {
			fmt.Fprintln(w, "    env:")
			for name, value := range app.Env {
				fmt.Fprintf(w, "      %s: %s\n", name, strconv.Quote(value))
			}
		}
		fmt.Fprintln(w, "    stop_grace_period: 5s")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return file.Close()
}

// paastisInstance is a running paastis binary.
type paastisInstance struct {
	*child
	Port int
	URL  string
}

// startPaastis runs the paastis binary under test as startPaastisWith
// does.
func (h *harness) startPaastis(ctx context.Context, name string, env map[string]string) (*paastisInstance, error) {
	return h.startPaastisWith(ctx, h.paastis, name, env)
}

// startPaastisWith runs a paastis binary in a directory of its own, so
// that no .env of the repository is read, with env over the defaults
// below. It returns once paastis listens.
func (h *harness) startPaastisWith(ctx context.Context, binary, name string, env map[string]string) (*paastisInstance, error) {
	dir := filepath.Join(h.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}

	settings := map[string]string{
		"HOST":          "127.0.0.1",
		"PORT":          strconv.Itoa(port),
		"ADMIN_HOST":    "127.0.0.1",
		"ADMIN_PORT":    strconv.Itoa(adminPort),
		"LOG_FORMAT":    "json",
		"LOG_LEVEL":     "info",
		"PROVIDER_NAME": "local",
	}
	for k, v := range env {
		settings[k] = v
	}
	environ := h.childEnv()
	for k, v := range settings {
		environ = append(environ, k+"="+v)
	}

	c, err := h.start(name, dir, environ, binary)
	if err != nil {
		return nil, err
	}
	if err := c.waitMessage(ctx, "paastis listening", 1, startTimeout); err != nil {
		return nil, err
	}
	return &paastisInstance{child: c, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d/", port)}, nil
}

// startPaastisTarget runs the paastis binary under test as
// startPaastisTargetWith does.
func (h *harness) startPaastisTarget(ctx context.Context, key, label string, env map[string]string, redis *redisServer) (*target, error) {
	return h.startPaastisTargetWith(ctx, h.paastis, key, label, env, redis)
}

// startPaastisTargetWith runs a paastis binary with one app, "bench",
// that runs the bench upstream, and wakes it with one request.
func (h *harness) startPaastisTargetWith(ctx context.Context, binary, key, label string, env map[string]string, redis *redisServer) (*target, error) {
	upstreamPort, err := freePort()
	if err != nil {
		return nil, err
	}
	appsFile := filepath.Join(h.tmp, key+"-apps.yaml")
	err = writeAppsFile(appsFile, []localApp{{
		Name: "bench", Argv: []string{filepath.Join(h.bin, "upstream")}, Port: upstreamPort, ReadinessPath: "/healthz",
	}})
	if err != nil {
		return nil, err
	}
	settings := map[string]string{"PROVIDER_LOCAL_CONFIG": appsFile}
	for k, v := range env {
		settings[k] = v
	}
	p, err := h.startPaastisWith(ctx, binary, key, settings)
	if err != nil {
		return nil, err
	}
	// The first request wakes the app; the measured ones find it warm.
	if _, err := p.waitHTTP(ctx, p.URL, benchHost, startTimeout); err != nil {
		return nil, err
	}
	pid := p.PID()
	return &target{Key: key, Label: label, URL: p.URL, pids: func() []int { return []int{pid} }, redis: redis}, nil
}

// redisServer is a redis-server child with persistence off.
type redisServer struct {
	*child
	Port int
}

// startRedis runs redis-server on a free port of 127.0.0.1.
func (h *harness) startRedis(ctx context.Context) (*redisServer, error) {
	dir := filepath.Join(h.tmp, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c, err := h.start("redis", dir, h.childEnv(), "redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no")
	if err != nil {
		return nil, err
	}
	r := &redisServer{child: c, Port: port}
	err = poll(ctx, startTimeout, "redis-server to accept connections", func() (bool, error) {
		if err := c.exitError(); err != nil {
			return false, err
		}
		_, err := r.commandStats()
		return err == nil, nil
	})
	return r, err
}

// commandStats returns the calls per command since the server started,
// from INFO commandstats. It opens a connection of its own, so that the
// only command it adds is one "info".
func (r *redisServer) commandStats() (map[string]int64, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)), 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n"); err != nil {
		return nil, fmt.Errorf("send INFO commandstats: %w", err)
	}
	// The reply is a bulk string: "$<length>\r\n<data>\r\n".
	reader := bufio.NewReader(conn)
	header, err := reader.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read the INFO reply: %w", err)
	}
	length, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(header, "$")))
	if !strings.HasPrefix(header, "$") || err != nil || length < 0 {
		return nil, fmt.Errorf("unexpected INFO reply %q", strings.TrimSpace(header))
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(reader, data); err != nil {
		return nil, fmt.Errorf("read the INFO reply: %w", err)
	}
	return measure.ParseCommandStats(string(data))
}
