package local

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults for the optional fields of an app.
const (
	defaultReadinessPath   = "/"
	defaultStopSignal      = "SIGTERM"
	defaultStopGracePeriod = 10 * time.Second
)

// stopSignals maps the accepted stop_signal values to their signals.
var stopSignals = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM,
	"SIGINT":  syscall.SIGINT,
	"SIGQUIT": syscall.SIGQUIT,
	"SIGHUP":  syscall.SIGHUP,
	"SIGKILL": syscall.SIGKILL,
	"SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2,
}

// appNamePattern matches a lowercase DNS label of 1 to 63 characters, so
// that the name can be the first label of a Host header.
var appNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// fileConfig is the YAML file as written by the operator.
type fileConfig struct {
	Apps []appConfig `yaml:"apps"`
}

// appConfig is one entry of the apps list, before validation.
type appConfig struct {
	// Name is the routing label.
	Name string `yaml:"name"`
	// Command is either a string, run with "sh -c", or a list of strings,
	// run as the argument vector without a shell. It stays a node until
	// validation so that both forms decode and a wrong form is reported
	// with the other problems.
	Command yaml.Node `yaml:"command"`
	// Dir is the working directory. A relative path is resolved against
	// the working directory of paastis, not the folder of the YAML file.
	// Empty means the working directory of paastis.
	Dir string `yaml:"dir"`
	// Env holds variables added to the environment that paastis inherited.
	// They win over inherited variables of the same name.
	Env map[string]string `yaml:"env"`
	// Port is the value of PORT given to the process. Zero means that a
	// free port on 127.0.0.1 is picked once, when the file is loaded.
	Port int `yaml:"port"`
	// ReadinessPath is the path that the engine probes after a start.
	// Default "/".
	ReadinessPath string `yaml:"readiness_path"`
	// StopSignal is the signal sent to the process group on stop.
	// Default SIGTERM.
	StopSignal string `yaml:"stop_signal"`
	// StopGracePeriod is how long a stop waits for the process to exit
	// before it sends SIGKILL to the group, as a Go duration. Default 10s.
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// appSpec is a validated app, ready to run.
type appSpec struct {
	name          string
	argv          []string
	commandText   string
	dir           string
	env           map[string]string
	port          int
	readinessPath string
	stopSignal    syscall.Signal
	stopGrace     time.Duration
}

// url returns the upstream base URL of the app.
func (s *appSpec) url() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// ConfigError lists every problem found in a local apps file.
type ConfigError struct {
	// Path is the file as given in Options.ConfigPath.
	Path string
	// Problems holds one message per problem, each starting with the file
	// and, when known, the line.
	Problems []string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	count := fmt.Sprintf("%d problems", len(e.Problems))
	if len(e.Problems) == 1 {
		count = "1 problem"
	}
	fmt.Fprintf(&b, "invalid local apps file %q: fix the %s below and restart paastis:", e.Path, count)
	for _, problem := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(problem)
	}
	return b.String()
}

// loadConfig reads, decodes and validates the apps file at path, and picks
// a free port for every app without one.
func loadConfig(path string) ([]*appSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read local apps file: %w: check the path of the file", err)
	}

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse local apps file %q: %w: fix the YAML syntax", path, err)
	}
	c := &checker{path: path}
	if len(root.Content) == 0 {
		c.add(0, "the file is empty: declare the apps under an \"apps:\" list")
		return nil, &ConfigError{Path: path, Problems: c.problems}
	}
	document := root.Content[0]
	if document.Kind != yaml.MappingNode {
		c.add(document.Line, "the top level must be a mapping with an \"apps\" list")
		return nil, &ConfigError{Path: path, Problems: c.problems}
	}

	c.checkKeys(document)

	var file fileConfig
	if err := root.Decode(&file); err != nil {
		var typeErr *yaml.TypeError
		if !errors.As(err, &typeErr) {
			return nil, fmt.Errorf("decode local apps file %q: %w", path, err)
		}
		for _, message := range typeErr.Errors {
			c.add(0, "%s: fix the value type", message)
		}
	}

	specs := c.validate(file, appNodes(document))
	if len(c.problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: c.problems}
	}

	if err := assignFreePorts(specs); err != nil {
		return nil, err
	}
	return specs, nil
}

// checker collects the problems of one file, each prefixed with the file
// name and line.
type checker struct {
	path     string
	problems []string
}

func (c *checker) add(line int, format string, args ...any) {
	location := c.path
	if line > 0 {
		location = fmt.Sprintf("%s:%d", c.path, line)
	}
	c.problems = append(c.problems, location+": "+fmt.Sprintf(format, args...))
}

// checkKeys reports every mapping key that the file format does not
// define, with its line, because a misspelt optional key would otherwise be
// silently ignored.
func (c *checker) checkKeys(document *yaml.Node) {
	c.checkMappingKeys(document, "top level", yamlKeys(reflect.TypeFor[fileConfig]()))

	for _, app := range appNodes(document) {
		if app.Kind != yaml.MappingNode {
			continue // reported by the decoder as a type error
		}
		c.checkMappingKeys(app, "app", yamlKeys(reflect.TypeFor[appConfig]()))
	}
}

func (c *checker) checkMappingKeys(mapping *yaml.Node, where string, known []string) {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		key := mapping.Content[i]
		if !slices.Contains(known, key.Value) {
			c.add(key.Line, "unknown key %q in %s: remove it or use one of %s", key.Value, where, strings.Join(known, ", "))
		}
	}
}

// validate checks every app and returns the valid ones. nodes holds the
// YAML node of each app, in the same order, for line numbers.
func (c *checker) validate(file fileConfig, nodes []*yaml.Node) []*appSpec {
	if len(file.Apps) == 0 {
		c.add(0, "no apps declared: add at least one entry under \"apps:\"")
		return nil
	}

	firstLine := map[string]int{}
	usedPorts := map[int]string{}
	var specs []*appSpec
	for i, app := range file.Apps {
		node := &yaml.Node{}
		if i < len(nodes) {
			node = nodes[i]
		}
		before := len(c.problems)
		spec := c.validateApp(i, app, node)

		if line, taken := firstLine[app.Name]; taken && app.Name != "" {
			c.add(node.Line, "app %q: duplicate name, already used at line %d: give each app a unique name", app.Name, line)
		} else {
			firstLine[app.Name] = node.Line
		}
		if other, taken := usedPorts[app.Port]; taken && app.Port != 0 {
			c.add(valueLine(node, "port"), "app %q: port %d is already used by app %q: give each app its own port", app.Name, app.Port, other)
		} else {
			usedPorts[app.Port] = app.Name
		}

		if len(c.problems) == before {
			specs = append(specs, spec)
		}
	}
	return specs
}

func (c *checker) validateApp(index int, app appConfig, node *yaml.Node) *appSpec {
	label := fmt.Sprintf("app %q", app.Name)
	if app.Name == "" {
		label = fmt.Sprintf("app #%d", index+1)
	}

	spec := &appSpec{
		name:          app.Name,
		env:           app.Env,
		port:          app.Port,
		readinessPath: app.ReadinessPath,
		stopSignal:    syscall.SIGTERM,
		stopGrace:     defaultStopGracePeriod,
	}

	switch {
	case app.Name == "":
		c.add(node.Line, "%s: missing name: set a lowercase DNS label such as \"hello\"", label)
	case !appNamePattern.MatchString(app.Name):
		c.add(valueLine(node, "name"), "%s: invalid name %q: use 1 to 63 characters among a-z, 0-9 and \"-\", not starting or ending with \"-\"", label, app.Name)
	}

	spec.argv, spec.commandText = c.validateCommand(label, &app.Command, node)

	if app.Dir != "" {
		dir, err := filepath.Abs(app.Dir)
		if err != nil {
			c.add(valueLine(node, "dir"), "%s: invalid dir %q: %v", label, app.Dir, err)
		}
		spec.dir = dir
	}

	for _, key := range sortedKeys(app.Env) {
		switch {
		case key == "PORT":
			c.add(valueLine(node, "env"), "%s: env sets PORT: set the port field instead", label)
		case key == "" || strings.ContainsAny(key, "=\x00"):
			c.add(valueLine(node, "env"), "%s: invalid env variable name %q: use a name without \"=\"", label, key)
		case strings.ContainsRune(app.Env[key], 0):
			c.add(valueLine(node, "env"), "%s: env variable %q contains a NUL byte: remove it", label, key)
		}
	}

	if app.Port < 0 || app.Port > 65535 {
		c.add(valueLine(node, "port"), "%s: invalid port %d: use 1 to 65535, or 0 to pick a free port", label, app.Port)
	}

	if spec.readinessPath == "" {
		spec.readinessPath = defaultReadinessPath
	} else if !strings.HasPrefix(spec.readinessPath, "/") {
		c.add(valueLine(node, "readiness_path"), "%s: invalid readiness_path %q: start it with \"/\"", label, app.ReadinessPath)
	}

	signalName := app.StopSignal
	if signalName == "" {
		signalName = defaultStopSignal
	}
	if signal, ok := stopSignals[strings.ToUpper(signalName)]; ok {
		spec.stopSignal = signal
	} else {
		c.add(valueLine(node, "stop_signal"), "%s: invalid stop_signal %q: use one of %s", label, app.StopSignal, strings.Join(sortedKeys(stopSignals), ", "))
	}

	if app.StopGracePeriod != "" {
		grace, err := time.ParseDuration(app.StopGracePeriod)
		switch {
		case err != nil:
			c.add(valueLine(node, "stop_grace_period"), "%s: invalid stop_grace_period %q: use a Go duration such as \"10s\" or \"500ms\"", label, app.StopGracePeriod)
		case grace < 0:
			c.add(valueLine(node, "stop_grace_period"), "%s: invalid stop_grace_period %q: use a duration of zero or more", label, app.StopGracePeriod)
		default:
			spec.stopGrace = grace
		}
	}

	return spec
}

// validateCommand returns the argument vector and a printable form of the
// command, which is a string run with "sh -c" or a list of strings.
func (c *checker) validateCommand(label string, command *yaml.Node, app *yaml.Node) (argv []string, text string) {
	line := valueLine(app, "command")
	switch command.Kind {
	case 0:
		c.add(app.Line, "%s: missing command: set the command that starts the app, such as \"go run ./examples/local/hello\"", label)
		return nil, ""

	case yaml.ScalarNode:
		if command.Tag == "!!null" || strings.TrimSpace(command.Value) == "" {
			c.add(line, "%s: empty command: set the command that starts the app", label)
			return nil, ""
		}
		return []string{"sh", "-c", command.Value}, command.Value

	case yaml.SequenceNode:
		if len(command.Content) == 0 {
			c.add(line, "%s: empty command list: set the program and its arguments", label)
			return nil, ""
		}
		for _, item := range command.Content {
			if item.Kind != yaml.ScalarNode {
				c.add(item.Line, "%s: invalid command list item: use plain strings", label)
				return nil, ""
			}
			argv = append(argv, item.Value)
		}
		if argv[0] == "" {
			c.add(line, "%s: empty program name in the command list: set the program as the first item", label)
			return nil, ""
		}
		return argv, quoteArgv(argv)

	default:
		c.add(line, "%s: invalid command: use a string, run with \"sh -c\", or a list of strings", label)
		return nil, ""
	}
}

// assignFreePorts picks a free port on 127.0.0.1 for every app whose port
// is zero. The port is only free at load time: another process may take it
// before the app starts, and the start then fails with the app's own error.
func assignFreePorts(specs []*appSpec) error {
	assigned := map[int]bool{}
	for _, spec := range specs {
		assigned[spec.port] = true
	}

	for _, spec := range specs {
		for spec.port == 0 {
			port, err := freePort()
			if err != nil {
				return fmt.Errorf("pick a free port for app %q: %w: set its port in the apps file", spec.name, err)
			}
			if !assigned[port] {
				spec.port = port
				assigned[port] = true
			}
		}
	}
	return nil
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// appNodes returns the node of each entry in the top-level apps list.
func appNodes(document *yaml.Node) []*yaml.Node {
	apps := mappingValue(document, "apps")
	if apps == nil || apps.Kind != yaml.SequenceNode {
		return nil
	}
	return apps.Content
}

func mappingValue(mapping *yaml.Node, key string) *yaml.Node {
	if mapping == nil || mapping.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	return nil
}

// valueLine returns the line of a key's value in a mapping, or the line of
// the mapping when the key is absent.
func valueLine(mapping *yaml.Node, key string) int {
	if value := mappingValue(mapping, key); value != nil {
		return value.Line
	}
	return mapping.Line
}

// yamlKeys returns the yaml key of every field of a struct type.
func yamlKeys(structType reflect.Type) []string {
	var keys []string
	for field := range structType.Fields() {
		name, _, _ := strings.Cut(field.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// quoteArgv joins an argument vector for display, quoting arguments that
// contain spaces or quotes.
func quoteArgv(argv []string) string {
	var b bytes.Buffer
	for i, arg := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if arg == "" || strings.ContainsAny(arg, " \t\"'\\") {
			b.WriteString(strconv.Quote(arg))
		} else {
			b.WriteString(arg)
		}
	}
	return b.String()
}
