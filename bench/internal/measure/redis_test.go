package measure

import (
	"maps"
	"testing"
)

// commandStats is the output of INFO commandstats of redis-server 7.0.
const commandStats = "# Commandstats\r\n" +
	"cmdstat_set:calls=1,usec=8,usec_per_call=8.00,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_client|setname:calls=3,usec=3,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_info:calls=12,usec=300,usec_per_call=25.00,rejected_calls=0,failed_calls=0\r\n"

func TestParseCommandStats(t *testing.T) {
	got, err := ParseCommandStats(commandStats)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"set": 1, "client|setname": 3, "info": 12}
	if !maps.Equal(got, want) {
		t.Errorf("ParseCommandStats = %v, want %v", got, want)
	}
}

func TestParseCommandStatsRejectsGarbledLines(t *testing.T) {
	for _, bad := range []string{"cmdstat_get\r\n", "cmdstat_get:usec=3\r\n", "cmdstat_get:calls=many\r\n"} {
		if _, err := ParseCommandStats(bad); err == nil {
			t.Errorf("ParseCommandStats(%q) returned no error", bad)
		}
	}
}

func TestCommandDeltaSkipsIgnoredAndUnchangedCommands(t *testing.T) {
	before := map[string]int64{"set": 1, "get": 5, "info": 2}
	after := map[string]int64{"set": 4, "get": 5, "info": 3, "evalsha": 2}
	got := CommandDelta(before, after, "info")
	want := map[string]int64{"set": 3, "evalsha": 2}
	if !maps.Equal(got, want) {
		t.Errorf("CommandDelta = %v, want %v", got, want)
	}
	if total := TotalCalls(got); total != 5 {
		t.Errorf("TotalCalls = %d, want 5", total)
	}
}
