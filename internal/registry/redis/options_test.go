package redis

import (
	"crypto/tls"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// buildOptions applies the defaults to opts and builds the go-redis
// options, failing the test on an error.
func buildOptions(t *testing.T, opts Options) *goredis.UniversalOptions {
	t.Helper()

	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	universal, err := opts.universalOptions()
	if err != nil {
		t.Fatal(err)
	}
	return universal
}

func TestUniversalOptionsFromRedissURL(t *testing.T) {
	universal := buildOptions(t, Options{
		URL:     "rediss://alice:s3cret@redis.example.test:6380/2?pool_size=7&client_name=paastis",
		Timeout: 3 * time.Second,
	})

	if got, want := universal.Addrs, []string{"redis.example.test:6380"}; !slices.Equal(got, want) {
		t.Errorf("Addrs = %q, want %q", got, want)
	}
	if universal.Username != "alice" || universal.Password != "s3cret" {
		t.Errorf("credentials = %q/%q, want alice/s3cret", universal.Username, universal.Password)
	}
	if universal.DB != 2 {
		t.Errorf("DB = %d, want 2", universal.DB)
	}
	if universal.PoolSize != 7 || universal.ClientName != "paastis" {
		t.Errorf("PoolSize, ClientName = %d, %q, want 7, paastis", universal.PoolSize, universal.ClientName)
	}
	if universal.TLSConfig == nil {
		t.Fatal("TLSConfig is nil, want TLS for rediss://")
	}
	if universal.TLSConfig.InsecureSkipVerify {
		t.Error("TLSConfig.InsecureSkipVerify is true, want certificate verification")
	}
	if universal.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLSConfig.MinVersion = %x, want TLS 1.2", universal.TLSConfig.MinVersion)
	}
	if universal.TLSConfig.ServerName != "" {
		t.Errorf("TLSConfig.ServerName = %q, want empty so that each dialed host is verified", universal.TLSConfig.ServerName)
	}
	for name, got := range map[string]time.Duration{
		"DialTimeout":  universal.DialTimeout,
		"ReadTimeout":  universal.ReadTimeout,
		"WriteTimeout": universal.WriteTimeout,
	} {
		if got != 3*time.Second {
			t.Errorf("%s = %s, want the 3s Timeout", name, got)
		}
	}
	if !universal.ContextTimeoutEnabled {
		t.Error("ContextTimeoutEnabled is false, want call contexts to bound each command")
	}
	if client := goredis.NewUniversalClient(universal); reflect.TypeOf(client) != reflect.TypeFor[*goredis.Client]() {
		t.Errorf("client type = %T, want *redis.Client", client)
	}
}

func TestUniversalOptionsFromPlainURL(t *testing.T) {
	universal := buildOptions(t, Options{URL: "redis://redis.example.test"})

	if got, want := universal.Addrs, []string{"redis.example.test:6379"}; !slices.Equal(got, want) {
		t.Errorf("Addrs = %q, want %q", got, want)
	}
	if universal.TLSConfig != nil {
		t.Errorf("TLSConfig = %+v, want nil for redis://", universal.TLSConfig)
	}
	if universal.DialTimeout != DefaultTimeout {
		t.Errorf("DialTimeout = %s, want the default %s", universal.DialTimeout, DefaultTimeout)
	}
}

func TestUniversalOptionsForSentinel(t *testing.T) {
	universal := buildOptions(t, Options{
		URL:              "redis://:master-secret@sentinel-1.example.test:26379/1",
		SentinelMaster:   "mymaster",
		SentinelAddrs:    []string{"sentinel-2.example.test:26379", "sentinel-3.example.test:26379"},
		SentinelPassword: "sentinel-secret",
	})

	want := []string{"sentinel-1.example.test:26379", "sentinel-2.example.test:26379", "sentinel-3.example.test:26379"}
	if !slices.Equal(universal.Addrs, want) {
		t.Errorf("Addrs = %q, want %q", universal.Addrs, want)
	}
	if universal.MasterName != "mymaster" {
		t.Errorf("MasterName = %q, want mymaster", universal.MasterName)
	}
	if universal.Password != "master-secret" || universal.SentinelPassword != "sentinel-secret" {
		t.Errorf("Password, SentinelPassword = %q, %q, want master-secret, sentinel-secret", universal.Password, universal.SentinelPassword)
	}
	if universal.DB != 1 {
		t.Errorf("DB = %d, want 1", universal.DB)
	}
}

func TestUniversalOptionsForCluster(t *testing.T) {
	universal := buildOptions(t, Options{
		URL:          "rediss://:s3cret@ignored.example.test",
		ClusterAddrs: []string{"node-1.example.test:6379", "node-2.example.test:6379"},
	})

	if want := []string{"node-1.example.test:6379", "node-2.example.test:6379"}; !slices.Equal(universal.Addrs, want) {
		t.Errorf("Addrs = %q, want %q", universal.Addrs, want)
	}
	if !universal.IsClusterMode {
		t.Error("IsClusterMode is false, want true")
	}
	if universal.Password != "s3cret" || universal.TLSConfig == nil {
		t.Errorf("Password, TLSConfig = %q, %v, want the URL's password and TLS", universal.Password, universal.TLSConfig)
	}
	if client := goredis.NewUniversalClient(universal); reflect.TypeOf(client) != reflect.TypeFor[*goredis.ClusterClient]() {
		t.Errorf("client type = %T, want *redis.ClusterClient", client)
	}
}

func TestOptionsRejectInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "unsupported scheme", opts: Options{URL: "http://:s3cret@127.0.0.1:6379"}, want: `scheme "http" is not supported`},
		{name: "unix socket", opts: Options{URL: "unix:///run/redis.sock"}, want: `scheme "unix" is not supported`},
		{name: "unparsable port", opts: Options{URL: "redis://:s3cret@127.0.0.1:notaport"}, want: "invalid REDIS_URL"},
		{name: "database not a number", opts: Options{URL: "redis://:s3cret@127.0.0.1:6379/abc"}, want: "invalid database number"},
		{name: "unknown query parameter", opts: Options{URL: "redis://:s3cret@127.0.0.1:6379/0?bogus=1"}, want: "bogus"},
		{name: "skip_verify", opts: Options{URL: "rediss://:s3cret@127.0.0.1:6379/0?skip_verify=true"}, want: "skip_verify"},
		{
			name: "cluster with a database",
			opts: Options{URL: "redis://:s3cret@127.0.0.1/3", ClusterAddrs: []string{"127.0.0.1:7000"}},
			want: "only database 0",
		},
		{
			name: "sentinel and cluster together",
			opts: Options{SentinelMaster: "mymaster", ClusterAddrs: []string{"127.0.0.1:7000"}},
			want: "both set",
		},
		{name: "negative in-flight ttl", opts: Options{InFlightTTL: -time.Second}, want: "REDIS_IN_FLIGHT_TTL"},
		{name: "in-flight ttl under a millisecond", opts: Options{InFlightTTL: time.Microsecond}, want: "REDIS_IN_FLIGHT_TTL"},
		{name: "negative events max length", opts: Options{EventsMaxLen: -1}, want: "REDIS_EVENTS_MAX_LEN"},
		{name: "negative timeout", opts: Options{Timeout: -time.Second}, want: "REDIS_TIMEOUT"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			opts, err := test.opts.withDefaults()
			if err == nil {
				_, err = opts.universalOptions()
			}
			if err == nil {
				t.Fatalf("options %+v built without error, want one containing %q", test.opts, test.want)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		"REDIS_URL":               "redis://:pw@127.0.0.1:6379/0",
		"REDIS_KEY_PREFIX":        "acme:",
		"REDIS_SENTINEL_MASTER":   "mymaster",
		"REDIS_SENTINEL_ADDRS":    " s2.example.test:26379 ,,s3.example.test:26379",
		"REDIS_SENTINEL_PASSWORD": "sentinel-pw",
		"REDIS_INSTANCE_ID":       "web-1",
		"REDIS_IN_FLIGHT_TTL":     "20s",
		"REDIS_EVENTS_MAX_LEN":    "500",
		"REDIS_TIMEOUT":           "1500ms",
	}
	opts, err := OptionsFromEnv(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}

	want := Options{
		URL:              "redis://:pw@127.0.0.1:6379/0",
		KeyPrefix:        "acme:",
		SentinelMaster:   "mymaster",
		SentinelAddrs:    []string{"s2.example.test:26379", "s3.example.test:26379"},
		SentinelPassword: "sentinel-pw",
		InstanceID:       "web-1",
		InFlightTTL:      20 * time.Second,
		EventsMaxLen:     500,
		Timeout:          1500 * time.Millisecond,
	}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("OptionsFromEnv = %+v, want %+v", opts, want)
	}
}

func TestOptionsFromEnvReportsEveryInvalidValue(t *testing.T) {
	env := map[string]string{
		"REDIS_IN_FLIGHT_TTL":  "15",
		"REDIS_EVENTS_MAX_LEN": "-3",
		"REDIS_TIMEOUT":        "0s",
		"REDIS_CLUSTER_ADDRS":  "n1.example.test:6379,n2.example.test:6379",
	}
	_, err := OptionsFromEnv(func(name string) string { return env[name] })
	if err == nil {
		t.Fatal("OptionsFromEnv returned nil, want an error")
	}
	for _, name := range []string{"REDIS_IN_FLIGHT_TTL", "REDIS_EVENTS_MAX_LEN", "REDIS_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{in: "paastis:{registry}:", want: "paastis:{registry}:"},
		{in: `a*b?c[d]e\f`, want: `a\*b\?c\[d\]e\\f`},
		{in: "", want: ""},
	}
	for _, test := range tests {
		if got := escapeGlob(test.in); got != test.want {
			t.Errorf("escapeGlob(%q) = %q, want %q", test.in, got, test.want)
		}
	}
}
