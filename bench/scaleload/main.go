package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/queryclient"
	"github.com/iamdb/iamdb/internal/store/sqlite"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scaleload load|mutate [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = load(os.Args[2:])
	case "mutate":
		err = mutate(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		os.Exit(1)
	}
}

// prefix of the names scaleload gives users and roles ("su000001", "sr000001").
const prefix = "s"

func load(args []string) error {
	fs := flag.NewFlagSet("scaleload load", flag.ExitOnError)
	path := fs.String("store", "", "the SQLite store file (of a stopped iamdb)")
	keyFile := fs.String("master-key", "", "the store's master key file (64 hex digits)")
	var spec iam.PopulateSpec
	fs.StringVar(&spec.Account, "account", "", "the account (must exist)")
	fs.IntVar(&spec.Users, "users", 1000, "users, each with an inline policy")
	fs.IntVar(&spec.KeysPerUser, "keys-per-user", 2, "access keys per user (at most 2)")
	fs.IntVar(&spec.Roles, "roles", 500, "roles, each with an inline policy")
	fs.IntVar(&spec.Batch, "batch", 2000, "entities per transaction")
	fs.Parse(args)
	spec.Prefix = prefix
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return errors.New("the master key file does not hold 64 hex digits")
	}
	st, err := sqlite.Open(*path)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := iam.Populate(context.Background(), st, key, spec); err != nil {
		return err
	}
	fmt.Printf("loaded users=%d keys=%d roles=%d seconds=%.1f\n", spec.Users, spec.Users*spec.KeysPerUser, spec.Roles, time.Since(start).Seconds())
	return nil
}

func mutate(args []string) error {
	fs := flag.NewFlagSet("scaleload mutate", flag.ExitOnError)
	users := fs.Int("users", 1000, "how many users load made (TagUser picks among them)")
	n := fs.Int("n", 300, "changes to make (0: until -d)")
	d := fs.Duration("d", 0, "stop after this long (0: after -n)")
	rate := fs.Float64("rate", 20, "changes per second (one at a time; a slow change delays the next)")
	fs.Parse(args)
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return errors.New("AWS_ENDPOINT_URL is not set (source D/env)")
	}
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{})
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	var lat []time.Duration
	end := time.Now().Add(*d)
	for i := 0; (*n == 0 || i < *n) && (*d == 0 || time.Now().Before(end)); i++ {
		<-tick.C
		form := url.Values{
			"Action": {"TagUser"}, "Version": {"2010-05-08"},
			"UserName":          {fmt.Sprintf("%su%06d", prefix, r.IntN(*users))},
			"Tags.member.1.Key": {"bench"}, "Tags.member.1.Value": {strconv.Itoa(i)},
		}
		t0 := time.Now()
		if err := queryclient.Call(ctx, creds, "iam", endpoint, form, &struct{}{}); err != nil {
			return fmt.Errorf("TagUser: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	if len(lat) == 0 {
		return errors.New("no change made")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("n=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", len(lat), pct(0.5), pct(0.99), pct(1))
	return nil
}
