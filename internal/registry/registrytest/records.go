package registrytest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

func testRecords(t *testing.T, newRegistry func(t *testing.T) engine.Registry) {
	t.Run("saved record comes back equal in UTC", func(t *testing.T) {
		registry := newRegistry(t)
		saved := sampleRecord("web")
		must(t, registry.Save(t.Context(), saved))

		got, err := registry.Record(t.Context(), "web")
		must(t, err)
		if want := inUTC(saved); !reflect.DeepEqual(got, want) {
			t.Errorf("Record = %+v, want %+v", got, want)
		}
		if got.DiscoveredAt.Location() != time.UTC {
			t.Errorf("DiscoveredAt location = %v, want UTC", got.DiscoveredAt.Location())
		}
	})

	t.Run("returned record is a copy", func(t *testing.T) {
		registry := newRegistry(t)
		saved := sampleRecord("web")
		must(t, registry.Save(t.Context(), saved))
		saved.App.Saved["web"] = "changed after save"

		got, err := registry.Record(t.Context(), "web")
		must(t, err)
		got.App.Saved["web"] = "changed after read"

		again, err := registry.Record(t.Context(), "web")
		must(t, err)
		if again.App.Saved["web"] != "2" {
			t.Errorf("Saved[web] = %q, want %q", again.App.Saved["web"], "2")
		}
	})

	t.Run("records are listed by app name", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("worker"), sampleRecord("api")))
		must(t, registry.Save(t.Context(), sampleRecord("web")))

		records, err := registry.Records(t.Context())
		must(t, err)
		if got, want := recordNames(records), []string{"api", "web", "worker"}; !slices.Equal(got, want) {
			t.Fatalf("Records names = %q, want %q", got, want)
		}
		for _, record := range records {
			if want := inUTC(sampleRecord(record.App.Name)); !reflect.DeepEqual(record, want) {
				t.Errorf("record = %+v, want %+v", record, want)
			}
		}
	})

	t.Run("empty registry lists no records", func(t *testing.T) {
		registry := newRegistry(t)

		records, err := registry.Records(t.Context())
		must(t, err)
		if len(records) != 0 {
			t.Errorf("Records = %+v, want none", records)
		}
	})

	t.Run("save replaces the record", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web")))
		replaced := sampleRecord("web")
		replaced.App.State = engine.StateRunning
		replaced.App.Saved = nil
		replaced.Managed = false
		must(t, registry.Save(t.Context(), replaced))

		got, err := registry.Record(t.Context(), "web")
		must(t, err)
		if want := inUTC(replaced); !reflect.DeepEqual(got, want) {
			t.Errorf("Record = %+v, want %+v", got, want)
		}
	})

	t.Run("save without records does nothing", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context()))

		records, err := registry.Records(t.Context())
		must(t, err)
		if len(records) != 0 {
			t.Errorf("Records = %+v, want none", records)
		}
	})

	t.Run("save rejects an empty app name", func(t *testing.T) {
		registry := newRegistry(t)

		err := registry.Save(t.Context(), sampleRecord("web"), sampleRecord(""))
		if err == nil {
			t.Fatal("Save with an empty app name returned nil, want an error")
		}
		records, err := registry.Records(t.Context())
		must(t, err)
		if len(records) != 0 {
			t.Errorf("Records after a rejected Save = %q, want none", recordNames(records))
		}
	})

	t.Run("unknown app wraps ErrAppNotFound", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web")))

		_, err := registry.Record(t.Context(), "nope")
		if !errors.Is(err, engine.ErrAppNotFound) {
			t.Fatalf("Record(nope) error = %v, want one wrapping engine.ErrAppNotFound", err)
		}
		if !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("error %q does not name the app", err)
		}
	})

	t.Run("delete removes named records only", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("api"), sampleRecord("web"), sampleRecord("worker")))
		must(t, registry.Delete(t.Context(), "web", "unknown", "api"))

		records, err := registry.Records(t.Context())
		must(t, err)
		if got, want := recordNames(records), []string{"worker"}; !slices.Equal(got, want) {
			t.Errorf("Records names = %q, want %q", got, want)
		}
		_, err = registry.Record(t.Context(), "web")
		if !errors.Is(err, engine.ErrAppNotFound) {
			t.Errorf("Record(web) after Delete error = %v, want one wrapping engine.ErrAppNotFound", err)
		}
	})

	t.Run("delete without names does nothing", func(t *testing.T) {
		registry := newRegistry(t)
		must(t, registry.Save(t.Context(), sampleRecord("web")))
		must(t, registry.Delete(t.Context()))

		_, err := registry.Record(t.Context(), "web")
		must(t, err)
	})
}
