package redistest_test

import (
	"testing"

	"github.com/paastis/paastis/internal/registry/redis/redistest"
)

func TestServerStopAndRestart(t *testing.T) {
	server := redistest.Start(t)
	client := server.Client()
	if err := client.Set(t.Context(), "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("SET on a started server: %v", err)
	}

	server.Stop()
	if err := client.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING on a stopped server returned nil, want an error")
	}

	server.Restart()
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, err := client.Exists(t.Context(), "greeting").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS greeting after Restart = %d, %v, want 0 because persistence is off", n, err)
	}
}

func TestCommandStatsCountsCalls(t *testing.T) {
	server := redistest.Start(t)
	server.ResetCommandStats()
	for range 3 {
		if err := server.Client().Get(t.Context(), "missing").Err(); err == nil {
			t.Fatal("GET missing returned nil, want redis.Nil")
		}
	}

	stats := server.CommandStats()
	if stats["get"] != 3 {
		t.Errorf("get calls = %d, want 3 (all stats: %v)", stats["get"], stats)
	}
	if _, ok := stats["set"]; ok {
		t.Errorf("stats has set calls = %d, want none", stats["set"])
	}
}

func TestClusterRejectsCrossSlotKeys(t *testing.T) {
	server := redistest.StartCluster(t)
	client := server.Client()

	if err := client.MSet(t.Context(), "{tag}a", "1", "{tag}b", "2").Err(); err != nil {
		t.Fatalf("MSET within one hash slot: %v", err)
	}
	if err := client.MSet(t.Context(), "a", "1", "b", "2").Err(); err == nil {
		t.Error("MSET across hash slots returned nil, want CROSSSLOT")
	}
}
