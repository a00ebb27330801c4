package iam

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store/sqlite"
)

// BenchmarkLoadStore measures the start-up of a Service on a large store (issue 22): the
// time New takes to load it, and the live heap the loaded Service keeps per principal.
// The store holds IAMDB_SCALE_USERS users (2,000 by default) with an inline policy and two
// access keys each, and half as many roles with an inline policy, as bench/scale.sh loads
// them. IAMDB_SCALE_STORE names a store file to keep between runs (filled when missing);
// IAMDB_SCALE_HEAPPROFILE a file for the heap profile after the load.
func BenchmarkLoadStore(b *testing.B) {
	users := 2000
	if v := os.Getenv("IAMDB_SCALE_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("IAMDB_SCALE_USERS: %v", err)
		}
		users = n
	}
	roles := users / 2
	path := os.Getenv("IAMDB_SCALE_STORE")
	if path == "" {
		path = filepath.Join(b.TempDir(), "iam.db")
	}
	ctx := context.Background()
	if _, err := os.Stat(path); err != nil {
		st, err := sqlite.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		e := newEnvOn(b, st, testMaster) // creates acctA
		e.s.Close()
		spec := PopulateSpec{Account: acctA, Prefix: "s", Users: users, KeysPerUser: 2, Roles: roles, Batch: 2000}
		if err := Populate(ctx, st, testMaster, spec); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
	st, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var before, after runtime.MemStats
	var elapsed, cpu time.Duration
	var principals int
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		start, cpu0 := time.Now(), cpuTime()
		s, err := New(ctx, Config{Store: st, MasterKey: testMaster})
		if err != nil {
			b.Fatal(err)
		}
		elapsed, cpu = time.Since(start), cpuTime()-cpu0
		runtime.GC()
		runtime.ReadMemStats(&after)
		snap := s.snap.Load()
		principals = snap.users.Len() + snap.roles.Len()
		if p := os.Getenv("IAMDB_SCALE_HEAPPROFILE"); p != "" {
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		s.Close()
	}
	b.ReportMetric(elapsed.Seconds(), "load-s")
	b.ReportMetric(cpu.Seconds(), "load-cpu-s")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(principals), "heap-B/principal")
	b.ReportMetric(float64(after.HeapSys-after.HeapReleased)/float64(1<<20), "heap-held-MiB")
	b.ReportMetric(float64(after.HeapInuse-after.HeapAlloc)/float64(1<<20), "heap-frag-MiB")
	b.ReportMetric(float64(after.HeapAlloc)/float64(1<<20), "heap-live-MiB")
	b.ReportMetric(float64(principals), "principals")
}

// cpuTime is the CPU time the process has used (user and system): unlike the time New
// takes, it does not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
