package redis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
	"github.com/paastis/paastis/internal/registry/redis"
	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

func TestNewUnreachableServer(t *testing.T) {
	server := redistest.Start(t)
	server.Stop()

	start := time.Now()
	_, err := redis.New(t.Context(), redis.Options{
		URL:     "redis://paastis:s3cret@" + server.Addr() + "/0",
		Timeout: 500 * time.Millisecond,
	})
	elapsed := time.Since(start)

	if err == nil {
		t.Fatal("New with the server down returned nil, want an error")
	}
	for _, want := range []string{"redis://paastis:xxxxx@" + server.Addr() + "/0", "is redis-server running? check REDIS_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("New with the server down took %s, want about the 500ms timeout", elapsed)
	}
}

func TestNewWrongPassword(t *testing.T) {
	server := redistest.Start(t)
	if err := server.Client().ConfigSet(t.Context(), "requirepass", "right-password").Err(); err != nil {
		t.Fatal(err)
	}

	_, err := redis.New(t.Context(), redis.Options{URL: "redis://:wrong-password@" + server.Addr() + "/0"})
	if err == nil {
		t.Fatal("New with a wrong password returned nil, want an error")
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error %q shows the password", err)
	}
	if !strings.Contains(err.Error(), "check REDIS_URL") {
		t.Errorf("error %q does not point at REDIS_URL", err)
	}

	registry, err := redis.New(t.Context(), redis.Options{URL: "redis://:right-password@" + server.Addr() + "/0"})
	if err != nil {
		t.Fatalf("New with the right password: %v", err)
	}
	registry.Close()
}

func TestNewSelectsDatabase(t *testing.T) {
	server := redistest.Start(t)
	registry, err := redis.New(t.Context(), redis.Options{URL: "redis://" + server.Addr() + "/3"})
	if err != nil {
		t.Fatal(err)
	}
	defer registry.Close()
	if err := registry.Save(t.Context(), engine.Record{App: engine.App{Name: "web"}}); err != nil {
		t.Fatal(err)
	}

	client := server.Client()
	if n, err := client.DBSize(t.Context()).Result(); err != nil || n != 0 {
		t.Errorf("database 0 has %d keys (error %v), want 0", n, err)
	}
	if err := client.Do(t.Context(), "SELECT", 3).Err(); err != nil {
		t.Fatal(err)
	}
	defer client.Do(t.Context(), "SELECT", 0)
	if n, err := client.DBSize(t.Context()).Result(); err != nil || n != 1 {
		t.Errorf("database 3 has %d keys (error %v), want 1", n, err)
	}
}

func TestNewThroughSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")

	registry, err := redis.New(t.Context(), redis.Options{
		URL:            sentinel.URL(),
		SentinelMaster: "mymaster",
	})
	if err != nil {
		t.Fatalf("New through the sentinel: %v", err)
	}
	defer registry.Close()
	if err := registry.Save(t.Context(), engine.Record{App: engine.App{Name: "web"}}); err != nil {
		t.Fatal(err)
	}

	if n, err := master.Client().HLen(t.Context(), "paastis:{registry}:apps").Result(); err != nil || n != 1 {
		t.Errorf("apps hash on the master has %d fields (error %v), want 1", n, err)
	}
}
