package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paastis/paastis/internal/engine"
)

// accessLayout formats last-access times with a fixed width in UTC, so
// that their string order is their time order (for years 0 to 9999).
const accessLayout = "2006-01-02T15:04:05.000000000Z"

// reportScript merges one ReportActivity call in a single round trip.
// KEYS: last-access hash, this instance's in-flight hash, instances set.
// ARGV: in-flight ttl in ms, instance id, then per app a triple of name,
// last access ("" for none) and in-flight count. A last access replaces
// the stored one only when it is later. The in-flight hash gets its ttl
// again on every call, and the instance joins the set while its hash
// exists.
var reportScript = goredis.NewScript(`
for i = 3, #ARGV, 3 do
	local app, access, inflight = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
	if access ~= "" then
		local stored = redis.call("HGET", KEYS[1], app)
		if not stored or stored < access then
			redis.call("HSET", KEYS[1], app, access)
		end
	end
	if inflight > 0 then
		redis.call("HSET", KEYS[2], app, inflight)
	else
		redis.call("HDEL", KEYS[2], app)
	end
end
if redis.call("PEXPIRE", KEYS[2], ARGV[1]) == 1 then
	redis.call("SADD", KEYS[3], ARGV[2])
end
return 0
`)

// forgetScript removes an instance from the instances set unless its
// in-flight hash exists again, which an instance reporting between the
// read and this call would have created. KEYS: instances set, in-flight
// hash. ARGV: instance id.
var forgetScript = goredis.NewScript(`
if redis.call("EXISTS", KEYS[2]) == 0 then
	redis.call("SREM", KEYS[1], ARGV[1])
end
return 0
`)

// ReportActivity stores this instance's activity in one script call: a
// last access replaces the stored one only when it is later, and the
// in-flight count replaces this instance's previous count. Every call,
// even with no activity, keeps this instance's in-flight counts alive for
// InFlightTTL more. An entry without an app name is rejected and nothing
// is stored.
func (r *Registry) ReportActivity(ctx context.Context, activity []engine.Activity) error {
	args := make([]any, 0, 2+3*len(activity))
	args = append(args, r.inFlightTTL.Milliseconds(), r.instanceID)
	for _, reported := range activity {
		if reported.App == "" {
			return errors.New("report activity: an entry has an empty app name: set Activity.App")
		}
		access := ""
		if !reported.LastAccess.IsZero() {
			access = reported.LastAccess.UTC().Format(accessLayout)
		}
		args = append(args, reported.App, access, max(reported.InFlight, 0))
	}

	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	keys := []string{r.keyLastAccess, r.keyInFlight, r.keyInstances}
	if err := reportScript.Run(ctx, r.client, keys, args...).Err(); err != nil {
		return fmt.Errorf("report activity of %d apps to redis: %w", len(activity), err)
	}
	return nil
}

// Activity returns, per app, the latest last access of every instance and
// the sum of the in-flight counts of the instances whose reports have not
// expired. It takes two round trips, and a third when it removes expired
// instances from the instances set.
func (r *Registry) Activity(ctx context.Context) (map[string]engine.Activity, error) {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()

	var (
		accessCmd    *goredis.MapStringStringCmd
		instancesCmd *goredis.StringSliceCmd
	)
	_, err := r.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		accessCmd = pipe.HGetAll(ctx, r.keyLastAccess)
		instancesCmd = pipe.SMembers(ctx, r.keyInstances)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read activity from redis: %w", err)
	}

	activity := make(map[string]engine.Activity)
	for app, access := range accessCmd.Val() {
		lastAccess, err := time.Parse(accessLayout, access)
		if err != nil {
			return nil, fmt.Errorf("invalid last access %q of app %q in redis hash %q: %w: remove that field with HDEL", access, app, r.keyLastAccess, err)
		}
		activity[app] = engine.Activity{App: app, LastAccess: lastAccess.UTC()}
	}

	expired, err := r.addInFlight(ctx, activity, instancesCmd.Val())
	if err != nil {
		return nil, err
	}
	if len(expired) > 0 {
		r.forgetInstances(ctx, expired)
	}
	return activity, nil
}

// addInFlight adds the in-flight counts of the instances to activity and
// returns the instances whose hash has expired.
func (r *Registry) addInFlight(ctx context.Context, activity map[string]engine.Activity, instances []string) ([]string, error) {
	if len(instances) == 0 {
		return nil, nil
	}

	commands := make([]*goredis.MapStringStringCmd, len(instances))
	_, err := r.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, instance := range instances {
			commands[i] = pipe.HGetAll(ctx, r.inFlightKey(instance))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read in-flight counts of %d instances from redis: %w", len(instances), err)
	}

	var expired []string
	for i, command := range commands {
		counts := command.Val()
		if len(counts) == 0 {
			expired = append(expired, instances[i])
			continue
		}
		for app, count := range counts {
			n, err := strconv.ParseInt(count, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid in-flight count %q of app %q in redis hash %q: %w", count, app, r.inFlightKey(instances[i]), err)
			}
			entry := activity[app]
			entry.App = app
			entry.InFlight += n
			activity[app] = entry
		}
	}
	return expired, nil
}

// forgetInstances removes expired instances from the instances set. A
// failure only leaves them for the next call, so it is logged and not
// returned.
func (r *Registry) forgetInstances(ctx context.Context, instances []string) {
	_, err := r.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, instance := range instances {
			keys := []string{r.keyInstances, r.inFlightKey(instance)}
			// Eval rather than Run, because a pipeline cannot fall back from
			// EVALSHA to EVAL when the server lacks the script.
			forgetScript.Eval(ctx, pipe, keys, instance)
		}
		return nil
	})
	if err != nil {
		r.logger.Warn("removing expired instances from redis failed", "instances", instances, "error", err)
		return
	}
	r.logger.Debug("removed expired instances from redis", "instances", instances)
}
