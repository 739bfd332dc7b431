package local

import "testing"

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		wantState byte
		wantPGID  int
		wantOK    bool
	}{
		{
			name:      "plain command name is parsed",
			stat:      "4242 (sleep) S 4241 4240 4240 0 -1 4194560",
			wantState: 'S',
			wantPGID:  4240,
			wantOK:    true,
		},
		{
			name:      "command name with spaces and parentheses is parsed",
			stat:      "4242 (my (odd) app) Z 1 4240 4240 0",
			wantState: 'Z',
			wantPGID:  4240,
			wantOK:    true,
		},
		{
			name:   "truncated content is rejected",
			stat:   "4242 (sleep) S 4241",
			wantOK: false,
		},
		{
			name:   "content without command name is rejected",
			stat:   "4242 sleep S 4241 4240",
			wantOK: false,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			state, pgid, ok := parseProcStat([]byte(test.stat))
			if ok != test.wantOK {
				t.Fatalf("ok = %v, want %v", ok, test.wantOK)
			}
			if state != test.wantState {
				t.Errorf("state = %q, want %q", state, test.wantState)
			}
			if pgid != test.wantPGID {
				t.Errorf("pgid = %d, want %d", pgid, test.wantPGID)
			}
		})
	}
}
