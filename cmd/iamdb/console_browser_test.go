package main

// The web console in a real browser (Debian's headless Chromium) against "iamdb dev" run
// in-process: the admin signs in with the console password dev printed and a TOTP code,
// creates a user, a policy and an access key through the pages, the user's token logs in
// to the dev PostgreSQL through the gateway and the login shows on the activity page and
// the live sessions page, the simulator answers, and a user without IAM permissions sees
// AccessDenied pages. Every page visited is written as a screenshot (browser_test.go).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/jackc/pgx/v5"
)

func TestConsoleInBrowser(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t, "--native=false")
	ctx := context.Background()

	// dev printed the console's URL and the admin's password once, and kept the password.
	m := regexp.MustCompile(`\n  console    (http://\S+/console/)   \(account (\d{12}), user admin, password (\S+); kept in (\S+)\)\n`).FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("iamdb dev did not print the console line:\n%s", d.stdout.String())
	}
	consoleURL, account, password := m[1], m[2], m[3]
	if kept, err := os.ReadFile(m[4]); err != nil || strings.TrimSpace(string(kept)) != password || m[4] != filepath.Join(d.dir, "console-password") {
		t.Fatalf("console password file %s: %q, %v", m[4], kept, err)
	}

	// The admin gets a virtual MFA device through the API, as with the AWS CLI.
	adminCfg := aws.Config{Region: d.region, BaseEndpoint: aws.String(d.authURL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: d.admin.AccessKeyID, SecretAccessKey: d.admin.SecretAccessKey}, nil
		})}
	ic := awsiam.NewFromConfig(adminCfg)
	dev, err := ic.CreateVirtualMFADevice(ctx, &awsiam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("admin-mfa")})
	if err != nil {
		t.Fatal(err)
	}
	seed := string(dev.VirtualMFADevice.Base32StringSeed)
	now := time.Now()
	if _, err := ic.EnableMFADevice(ctx, &awsiam.EnableMFADeviceInput{UserName: aws.String("admin"), SerialNumber: dev.VirtualMFADevice.SerialNumber,
		AuthenticationCode1: aws.String(totp(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totp(t, seed, now))}); err != nil {
		t.Fatal(err)
	}

	// Sign in: password, then the MFA code (the next step's: the current one was used to
	// enable the device).
	b.run("sign-in page", chromedp.Navigate(consoleURL))
	b.wantText("sign-in page", "Sign in")
	b.screenshot("signin")
	b.run("sign in with a password",
		chromedp.SetValue(css(`input[name=account]`), account),
		chromedp.SetValue(css(`input[name=user]`), "admin"),
		chromedp.SetValue(css(`input[name=password]`), password),
		chromedp.Submit(css(`input[name=password]`)),
		chromedp.WaitVisible(css(`input[name=mfa]`)))
	b.wantText("MFA step", "Enter the code of your MFA device")
	b.screenshot("signin-mfa")
	b.run("sign in with the MFA code",
		chromedp.SetValue(css(`input[name=password]`), password),
		chromedp.SetValue(css(`input[name=mfa]`), totp(t, seed, time.Now().Add(30*time.Second))),
		chromedp.Submit(css(`input[name=mfa]`)),
		chromedp.WaitVisible(css(`nav`)))
	b.wantText("overview", "Overview")
	b.screenshot("overview")

	// A user, created in the console.
	b.run("users page", chromedp.Navigate(consoleURL+"users"), chromedp.WaitVisible(css(`input[name=name]`)))
	b.run("create a user",
		chromedp.SetValue(css(`input[name=name]`), "carol"),
		chromedp.Submit(css(`input[name=name]`)),
		chromedp.WaitVisible(css(`.flash`)))
	b.wantText("user created", "User carol created.")
	if _, err := ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatalf("the console's user: %v", err)
	}
	b.screenshot("user")

	// Its access key: the secret is on the answer page, once.
	b.run("create an access key", chromedp.Click(css(`form[action$="/keys"] button`)), chromedp.WaitVisible(css(`.secret`)))
	b.wantText("new access key", "This is the only time the secret access key is shown")
	key := get(b, "the new key", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".secret pre")).map(e => e.textContent.trim())`))
	if len(key) != 2 || !strings.HasPrefix(key[0], "AKIA") || len(key[1]) != 40 {
		t.Fatalf("the access key page shows %q", key)
	}
	b.screenshot("access-key")
	carol := aws.Credentials{AccessKeyID: key[0], SecretAccessKey: key[1]}

	// A policy in the JSON editor: invalid first, then validated, then saved.
	var rid string
	for _, db := range d.describeClusters(t, adminCfg) {
		rid = db
	}
	connect := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", ` +
		`"Resource": "arn:aws:rds-db:` + d.region + `:` + account + `:dbuser:` + rid + `/iam_user"}]}`
	b.run("policies page", chromedp.Navigate(consoleURL+"policies"), chromedp.WaitVisible(css(`textarea[name=document]`)))
	b.run("an invalid policy",
		chromedp.SetValue(css(`input[name=name]`), "carol-connect"),
		chromedp.SetValue(css(`textarea[name=document]`), strings.Replace(connect, `"Allow"`, `"Maybe"`, 1)),
		chromedp.Click(css(`button[value=validate]`)),
		chromedp.WaitVisible(css(`.error`)))
	b.wantText("invalid policy", "not valid")
	b.screenshot("policy-invalid")
	b.run("a valid policy",
		chromedp.SetValue(css(`textarea[name=document]`), connect),
		chromedp.Click(css(`button[value=save]`)),
		chromedp.WaitVisible(css(`.flash`)))
	b.wantText("policy created", "Policy carol-connect created.")
	b.screenshot("policy")
	policyARN := "arn:aws:iam::" + account + ":policy/carol-connect"

	b.run("attach the policy to carol",
		chromedp.Navigate(consoleURL+"users/carol"),
		chromedp.SetValue(css(`input[name=arn]`), policyARN),
		chromedp.Submit(css(`input[name=arn]`)),
		chromedp.WaitVisible(css(`.flash`)))
	b.wantText("policy attached", "carol-connect")
	attached, err := ic.ListAttachedUserPolicies(ctx, &awsiam.ListAttachedUserPoliciesInput{UserName: aws.String("carol")})
	if err != nil || len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != policyARN {
		t.Fatalf("carol's policies after the console attached one: %+v, %v", attached, err)
	}

	// carol's token logs in to the dev PostgreSQL through the gateway.
	admin, err := pgx.Connect(ctx, d.env["IAMDB_PG_ADMIN_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE USER iam_user WITH LOGIN; GRANT rds_iam TO iam_user"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	tok, err := auth.BuildAuthToken(ctx, fmt.Sprintf("localhost:%d", d.port), d.region, "iam_user",
		aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return carol, nil }))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pgx.ParseConfig(d.conninfo("iam_user", "verify-full"))
	if err != nil {
		t.Fatal(err)
	}
	pc.Password = tok
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		t.Fatalf("carol's token through the gateway: %v", err)
	}
	defer conn.Close(ctx)

	// The login on the activity page and among the live sessions.
	carolARN := "arn:aws:iam::" + account + ":user/carol"
	b.run("activity page", chromedp.Navigate(consoleURL+"activity"), chromedp.WaitVisible(css(`table`)))
	b.wantText("activity", "carol", "iam_user", "allowed")
	b.screenshot("activity")
	b.run("live sessions page", chromedp.Navigate(consoleURL+"sessions"), chromedp.WaitVisible(css(`table`)))
	b.wantText("live sessions", carolARN, "iam_user")
	b.screenshot("sessions")
	// The databases, and the lines to connect to the cluster as iam_user.
	b.run("databases page", chromedp.Navigate(consoleURL+"databases"), chromedp.WaitVisible(css(`table`)))
	b.wantText("databases", d.env["IAMDB_PG_CLUSTER"], rid)
	b.screenshot("databases")
	b.run("connection snippets",
		chromedp.Navigate(consoleURL+"databases/"+d.env["IAMDB_PG_CLUSTER"]),
		chromedp.SetValue(css(`input[name=user]`), "iam_user"),
		chromedp.Submit(css(`input[name=user]`)),
		chromedp.WaitVisible(css(`pre`)))
	b.wantText("connection snippets", "aws rds generate-db-auth-token", fmt.Sprintf("--port %d", d.port), ":dbuser:"+rid+"/iam_user")
	b.screenshot("database-snippets")

	// The simulator: carol may connect as iam_user, not as someone else, and is told how.
	simulate := func(dbuser string) {
		b.run("simulate "+dbuser,
			chromedp.Navigate(consoleURL+"simulator"),
			chromedp.SetValue(css(`input[name=principal]`), carolARN),
			chromedp.SetValue(css(`select[name=database]`), "cluster/"+d.env["IAMDB_PG_CLUSTER"]),
			chromedp.SetValue(css(`input[name=dbuser]`), dbuser),
			chromedp.Submit(css(`input[name=dbuser]`)),
			chromedp.WaitVisible(css(`.badge`)))
	}
	simulate("iam_user")
	b.wantText("simulator, allowed", "allowed", "carol-connect")
	b.screenshot("simulator-allowed")
	simulate("reporting")
	b.wantText("simulator, refused", "implicitDeny", ":dbuser:"+rid+"/reporting")
	b.screenshot("simulator-refused")

	b.run("overview", chromedp.Navigate(consoleURL), chromedp.WaitVisible(css(`svg`)))
	b.screenshot("overview-after-login")

	// On a phone's screen: nothing wider than the screen but what scrolls in its own box.
	b.run("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	for _, page := range []string{"", "users/carol", "activity", "simulator"} {
		b.run("phone "+page, chromedp.Navigate(consoleURL+page), chromedp.WaitVisible(css(`main`)))
		if wide := get(b, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
			t.Errorf("on a phone, /console/%s is wider than the screen", page)
		}
		name := strings.ReplaceAll(page, "/", "-")
		if name == "" {
			name = "overview"
		}
		b.screenshot("phone-" + name)
	}
	b.run("back to a laptop's screen", chromedp.ResetViewport())

	// A user without IAM permissions sees AccessDenied pages, not data.
	if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("nobody")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateLoginProfile(ctx, &awsiam.CreateLoginProfileInput{UserName: aws.String("nobody"), Password: aws.String("Nobody-pass-1")}); err != nil {
		t.Fatal(err)
	}
	b.run("sign out", chromedp.Click(css(`form[action="/console/signout"] button`)), chromedp.WaitVisible(css(`input[name=password]`)))
	// With the keyboard alone: sign-out came back to the form with the account filled in and
	// the user name focused.
	if acct := get(b, "the account field", chromedp.Value(css(`input[name=account]`))); acct != account {
		t.Fatalf("after sign-out, the account field holds %q, want %q", acct, account)
	}
	b.run("sign in as nobody with the keyboard",
		chromedp.KeyEvent("nobody"+kb.Tab+"Nobody-pass-1"+kb.Enter),
		chromedp.WaitVisible(css(`nav`)))
	for _, page := range []string{"users", "policies", "activity", "sessions", "users/carol"} {
		b.run(page+" as nobody", chromedp.Navigate(consoleURL+page), chromedp.WaitVisible(css(`main`)))
		got := b.text()
		if !strings.Contains(got, "AccessDenied") || strings.Contains(got, "carol-connect") || strings.Contains(got, key[0]) {
			t.Errorf("%s as a user without permissions:\n%s", page, got)
		}
	}
	b.screenshot("access-denied")
}

// describeClusters returns the resource ids of the dev clusters.
func (d *devInstance) describeClusters(t *testing.T, cfg aws.Config) []string {
	t.Helper()
	out, err := awsrds.NewFromConfig(cfg).DescribeDBClusters(context.Background(), &awsrds.DescribeDBClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range out.DBClusters {
		ids = append(ids, aws.ToString(c.DbClusterResourceId))
	}
	return ids
}
