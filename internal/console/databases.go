package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

func init() { pageSets = append(pageSets, registerDatabases) }

func registerDatabases(c *Console) {
	c.page("GET "+Prefix+"databases", c.databases)
	c.page("GET "+Prefix+"databases/{id}", c.database)
	c.page("POST "+Prefix+"databases/{id}/iam", c.toggleIAMAuth)
}

const (
	kindInstance = "instance"
	kindCluster  = "cluster"
)

// dbInfo is a database as the console shows it, from DescribeDBInstances or
// DescribeDBClusters.
type dbInfo struct {
	ID, Kind, Engine, Status string
	Host                     string
	Port                     int
	Region, Account          string
	ResourceID               string
	ARN                      string
	IAMAuth                  bool
}

// Endpoint is host:port.
func (d *dbInfo) Endpoint() string {
	if d.Host == "" {
		return "—"
	}
	return joinHostPort(d.Host, d.Port)
}

// Postgres reports whether the engine speaks PostgreSQL's protocol.
func (d *dbInfo) Postgres() bool { return strings.Contains(d.Engine, "postgres") }

// ConnectARN is the rds-db:connect resource for user.
func (d *dbInfo) ConnectARN(user string) string {
	return "arn:aws:rds-db:" + d.Region + ":" + d.Account + ":dbuser:" + d.ResourceID + "/" + user
}

// Value is the database as a form value: "kind/identifier".
func (d *dbInfo) Value() string { return d.Kind + "/" + d.ID }

func joinHostPort(h string, p int) string {
	if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(p)
}

// fromARN fills region and account from an RDS ARN.
func (d *dbInfo) fromARN(a string) {
	if p, err := arn.Parse(a); err == nil {
		d.Region, d.Account = p.Region, p.AccountID
	}
}

// listDatabases returns the instances and the clusters the session may see, at most 100
// of each (iamdb's Describe pages hold up to 100).
func (c *Console) listDatabases(r *http.Request, s *session) ([]dbInfo, bool, error) {
	var dbs []dbInfo
	in, err := s.clients.rds.DescribeDBInstances(apiCtx(r), &awsrds.DescribeDBInstancesInput{MaxRecords: aws.Int32(100)})
	if err != nil {
		return nil, false, err
	}
	for _, x := range in.DBInstances {
		d := dbInfo{ID: aws.ToString(x.DBInstanceIdentifier), Kind: kindInstance, Engine: aws.ToString(x.Engine),
			Status: aws.ToString(x.DBInstanceStatus), ResourceID: aws.ToString(x.DbiResourceId),
			ARN: aws.ToString(x.DBInstanceArn), IAMAuth: aws.ToBool(x.IAMDatabaseAuthenticationEnabled)}
		if x.Endpoint != nil {
			d.Host, d.Port = aws.ToString(x.Endpoint.Address), int(aws.ToInt32(x.Endpoint.Port))
		}
		d.fromARN(d.ARN)
		dbs = append(dbs, d)
	}
	cl, err := s.clients.rds.DescribeDBClusters(apiCtx(r), &awsrds.DescribeDBClustersInput{MaxRecords: aws.Int32(100)})
	if err != nil {
		return nil, false, err
	}
	for _, x := range cl.DBClusters {
		d := dbInfo{ID: aws.ToString(x.DBClusterIdentifier), Kind: kindCluster, Engine: aws.ToString(x.Engine),
			Status: aws.ToString(x.Status), ResourceID: aws.ToString(x.DbClusterResourceId),
			ARN: aws.ToString(x.DBClusterArn), IAMAuth: aws.ToBool(x.IAMDatabaseAuthenticationEnabled),
			Host: aws.ToString(x.Endpoint), Port: int(aws.ToInt32(x.Port))}
		d.fromARN(d.ARN)
		dbs = append(dbs, d)
	}
	return dbs, in.Marker != nil || cl.Marker != nil, nil
}

// findDatabase describes one database: kind "instance" or "cluster", or either when empty
// (an instance first).
func (c *Console) findDatabase(r *http.Request, s *session, kind, id string) (*dbInfo, error) {
	if kind != kindCluster {
		out, err := s.clients.rds.DescribeDBInstances(apiCtx(r), &awsrds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err == nil && len(out.DBInstances) > 0 {
			x := out.DBInstances[0]
			d := &dbInfo{ID: aws.ToString(x.DBInstanceIdentifier), Kind: kindInstance, Engine: aws.ToString(x.Engine),
				Status: aws.ToString(x.DBInstanceStatus), ResourceID: aws.ToString(x.DbiResourceId),
				ARN: aws.ToString(x.DBInstanceArn), IAMAuth: aws.ToBool(x.IAMDatabaseAuthenticationEnabled)}
			if x.Endpoint != nil {
				d.Host, d.Port = aws.ToString(x.Endpoint.Address), int(aws.ToInt32(x.Endpoint.Port))
			}
			d.fromARN(d.ARN)
			return d, nil
		}
		if kind == kindInstance || err != nil && asAPIError(err).Code != "DBInstanceNotFound" {
			if err == nil {
				err = &APIError{Code: "DBInstanceNotFound", Message: "DBInstance " + id + " not found.", Status: http.StatusNotFound}
			}
			return nil, err
		}
	}
	out, err := s.clients.rds.DescribeDBClusters(apiCtx(r), &awsrds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return nil, err
	}
	if len(out.DBClusters) == 0 {
		return nil, &APIError{Code: "DBClusterNotFoundFault", Message: "DBCluster " + id + " not found.", Status: http.StatusNotFound}
	}
	x := out.DBClusters[0]
	d := &dbInfo{ID: aws.ToString(x.DBClusterIdentifier), Kind: kindCluster, Engine: aws.ToString(x.Engine),
		Status: aws.ToString(x.Status), ResourceID: aws.ToString(x.DbClusterResourceId),
		ARN: aws.ToString(x.DBClusterArn), IAMAuth: aws.ToBool(x.IAMDatabaseAuthenticationEnabled),
		Host: aws.ToString(x.Endpoint), Port: int(aws.ToInt32(x.Port))}
	d.fromARN(d.ARN)
	return d, nil
}

// databasesData is the databases page.
type databasesData struct {
	Databases []dbInfo
	More      bool
}

// databases lists the instances and clusters (rds:DescribeDBInstances,
// rds:DescribeDBClusters).
func (c *Console) databases(w http.ResponseWriter, r *http.Request, s *session) {
	dbs, more, err := c.listDatabases(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "databases", &view{Title: "Databases", Nav: "databases", Data: &databasesData{Databases: dbs, More: more}})
}

// toggleIAMAuth turns IAM database authentication on or off (rds:ModifyDBInstance or
// rds:ModifyDBCluster, applied immediately).
func (c *Console) toggleIAMAuth(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	enable := r.PostFormValue("enable") == "true"
	var err error
	switch r.PostFormValue("kind") {
	case kindInstance:
		_, err = s.clients.rds.ModifyDBInstance(apiCtx(r), &awsrds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id),
			EnableIAMDatabaseAuthentication: aws.Bool(enable), ApplyImmediately: aws.Bool(true)})
	case kindCluster:
		_, err = s.clients.rds.ModifyDBCluster(apiCtx(r), &awsrds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(id),
			EnableIAMDatabaseAuthentication: aws.Bool(enable), ApplyImmediately: aws.Bool(true)})
	default:
		err = &APIError{Code: "InvalidParameterValue", Message: "kind must be instance or cluster.", Status: http.StatusBadRequest}
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	state := "off"
	if enable {
		state = "on"
	}
	to := Prefix + "databases"
	if r.PostFormValue("back") == "detail" {
		to = Prefix + "databases/" + url.PathEscape(id) + "?kind=" + url.QueryEscape(r.PostFormValue("kind"))
	}
	c.done(w, r, s, to, "IAM database authentication of "+id+" is "+state+".")
}

// databaseData is a database's page with its connection snippets.
type databaseData struct {
	DB                *dbInfo
	DBUser, DBName    string
	As                string // a role ARN to assume, or empty for the signed-in user
	Authority         string // the console's origin: the AWS API endpoint
	Problems          []string
	Snippets          *snippets
	DefaultDBName     string
	SignedInPrincipal string
}

// snippets are the copyable lines of a connection.
type snippets struct {
	AssumeRole, Token, Psql, MySQL, Connect, Doctor, Go, Policy string
}

// database shows one database and, given a db user, how to connect as it.
func (c *Console) database(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d, err := c.findDatabase(r, s, q.Get("kind"), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := &databaseData{DB: d, DBUser: q.Get("user"), DBName: q.Get("dbname"), As: strings.TrimSpace(q.Get("as")),
		Authority: consoleOrigin(r), SignedInPrincipal: s.userARN}
	data.DefaultDBName = "postgres"
	if !d.Postgres() {
		data.DefaultDBName = ""
	}
	if data.DBUser != "" || q.Has("user") {
		data.Problems = checkSnippetInput(d, data.DBUser, data.DBName, data.As)
		if len(data.Problems) == 0 {
			data.Snippets = makeSnippets(d, data.DBUser, data.DBName, data.As, data.Authority)
		}
	}
	c.render(w, r, s, http.StatusOK, "database", &view{Title: "Database " + d.ID, Nav: "databases", Data: data})
}

// consoleOrigin is the console's own origin, where the AWS API is served too.
func consoleOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String()
}

// maxMySQLUser is MariaDB's longest user name (characters); MySQL's is 32.
const maxMySQLUser = 80

// checkDBUser reports what is wrong with a database user name for d's engine: what
// PostgreSQL or MariaDB would not keep exactly, and what would be a wildcard or a policy
// variable in the rds-db:connect resource (a statement for "*" would allow every user).
func checkDBUser(d *dbInfo, user string) error {
	var err error
	if d.Postgres() {
		err = rdsiam.CheckPostgresUser(user)
	} else {
		err = rdsiam.CheckMySQLUser(user)
		if err == nil && utf8.RuneCountInString(user) > maxMySQLUser {
			err = errors.New("longer than MariaDB's 80 characters")
		}
	}
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "rdsiam: "))
	}
	if strings.ContainsAny(user, "*?") || strings.Contains(user, "${") {
		return errors.New("a database user name with *, ? or ${ would be a wildcard or a variable in the policy's resource")
	}
	return nil
}

// checkSnippetInput returns what is wrong with the snippet form's inputs.
func checkSnippetInput(d *dbInfo, user, dbname, as string) []string {
	var probs []string
	if err := checkDBUser(d, user); err != nil {
		probs = append(probs, "Database user: "+err.Error()+".")
	}
	if dbname != "" {
		max := 64
		if d.Postgres() {
			max = rdsiam.MaxPostgresName
		}
		if len(dbname) > max || !utf8.ValidString(dbname) || strings.ContainsFunc(dbname, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			probs = append(probs, "Database name: at most "+strconv.Itoa(max)+" bytes of UTF-8 without control characters.")
		}
	}
	if as != "" {
		if a, err := arn.Parse(as); err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
			probs = append(probs, "Role to assume: not a role ARN (arn:aws:iam::ACCOUNT:role/NAME).")
		}
	}
	return probs
}

// shellQuote quotes s for a POSIX shell: single quotes, each single quote as '\”.
// Nothing inside single quotes is special, so whatever s holds stays one word.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._/:=@,+", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// goQuote quotes s as a Go string literal.
func goQuote(s string) string { return strconv.Quote(s) }

// connectPolicy is an identity policy allowing rds-db:connect on resource.
func connectPolicy(resource string) string {
	type statement struct{ Effect, Action, Resource string }
	doc := struct {
		Version   string
		Statement []statement
	}{"2012-10-17", []statement{{"Allow", "rds-db:connect", resource}}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // strings always marshal
	}
	return string(b)
}

// connValue writes k=v for a libpq connection string, v quoted only when it has to be.
func connValue(k, v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return k + "=" + rdsiam.QuotePostgresConnValue(v)
	}
	return k + "=" + v
}

// makeSnippets writes the lines that connect to d as user; every input is quoted for
// where it goes. The CA file is $IAMDB_CA_FILE, as iamdb dev's environment names it.
func makeSnippets(d *dbInfo, user, dbname, as, authority string) *snippets {
	host, port := shellQuote(d.Host), strconv.Itoa(d.Port)
	sn := &snippets{Policy: connectPolicy(d.ConnectARN(user))}
	if as != "" {
		sn.AssumeRole = "set -- $(aws sts assume-role --endpoint-url " + shellQuote(authority) +
			" --role-arn " + shellQuote(as) + " --role-session-name iamdb-console \\\n" +
			"  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)\n" +
			`export AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="$3"`
	}
	gen := "aws rds generate-db-auth-token --hostname " + host + " --port " + port +
		" --region " + shellQuote(d.Region) + " --username " + shellQuote(user) + " --endpoint-url " + shellQuote(authority)
	sn.Token = gen
	if d.Postgres() {
		db := dbname
		if db == "" {
			db = "postgres"
		}
		kv := connValue
		conninfo := strings.Join([]string{kv("host", d.Host), kv("port", port), kv("user", user), kv("dbname", db), "sslmode=verify-full"}, " ")
		sn.Psql = `PGPASSWORD="$(` + gen + `)" PGSSLROOTCERT="$IAMDB_CA_FILE" \` + "\n  psql " + shellQuote(conninfo)
		sn.Connect = "iamdb connect psql --hostname " + host + " --port " + port + " --username " + shellQuote(user) +
			" --dbname " + shellQuote(db) + " --region " + shellQuote(d.Region) + ` --ca-file "$IAMDB_CA_FILE"`
		sn.Go = goPgx(d, user, db, as)
	} else {
		args := "mariadb --host=" + host + " --port=" + port + " --protocol=tcp --user=" + shellQuote(user) +
			` --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --enable-cleartext-plugin`
		if dbname != "" {
			args += " --database=" + shellQuote(dbname)
		}
		sn.MySQL = `MYSQL_PWD="$(` + gen + `)" \` + "\n  " + args +
			"\n# Oracle's mysql client: --ssl-mode=VERIFY_IDENTITY --enable-cleartext-plugin instead of --ssl-verify-server-cert"
		sn.Connect = "iamdb connect mysql --hostname " + host + " --port " + port + " --username " + shellQuote(user)
		if dbname != "" {
			sn.Connect += " --dbname " + shellQuote(dbname)
		}
		sn.Connect += " --region " + shellQuote(d.Region) + ` --ca-file "$IAMDB_CA_FILE"`
		sn.Go = goMySQL(d, user, dbname, as)
	}
	engine := "mysql"
	if d.Postgres() {
		engine = "postgres"
	}
	sn.Doctor = "iamdb doctor --hostname " + host + " --port " + port + " --username " + shellQuote(user) +
		" --engine " + engine + " --region " + shellQuote(d.Region) + " --endpoint " + shellQuote(authority) + ` --ca-file "$IAMDB_CA_FILE"`
	return sn
}

// goCreds is the Go client library's credentials and token source.
func goCreds(d *dbInfo, as string) string {
	opts := "client.AWSOptions{}"
	if as != "" {
		opts = "client.AWSOptions{RoleARN: " + goQuote(as) + "}"
	}
	return "creds, err := client.AWSDefaultCredentials(ctx, " + opts + ")\n" +
		"if err != nil {\n\treturn err\n}\n" +
		"src, err := client.NewTokenSource(client.Config{Credentials: creds, Region: " + goQuote(d.Region) + "})\n" +
		"if err != nil {\n\treturn err\n}\n"
}

func goPgx(d *dbInfo, user, db, as string) string {
	kv := connValue
	dsn := strings.Join([]string{kv("host", d.Host), kv("port", strconv.Itoa(d.Port)), kv("user", user), kv("dbname", db),
		"sslmode=verify-full", "sslrootcert=/path/to/iamdb-ca.pem"}, " ")
	return "// github.com/iamdb/iamdb/client, …/client/pgxauth, github.com/jackc/pgx/v5/pgxpool\n" +
		goCreds(d, as) +
		"cfg, err := pgxpool.ParseConfig(" + goQuote(dsn) + ")\n" +
		"if err != nil {\n\treturn err\n}\n" +
		"cfg.BeforeConnect = pgxauth.BeforeConnect(src, pgxauth.Options{})\n" +
		"pool, err := pgxpool.NewWithConfig(ctx, cfg)"
}

func goMySQL(d *dbInfo, user, db, as string) string {
	cfg := "cfg := mysql.NewConfig()\n" +
		"cfg.User = " + goQuote(user) + "\n" +
		"cfg.Net, cfg.Addr = \"tcp\", " + goQuote(joinHostPort(d.Host, d.Port)) + "\n"
	if db != "" {
		cfg += "cfg.DBName = " + goQuote(db) + "\n"
	}
	cfg += "cfg.TLSConfig = \"iamdb\" // mysql.RegisterTLSConfig(\"iamdb\", &tls.Config{RootCAs: pool, ServerName: " + goQuote(d.Host) + "})\n"
	return "// github.com/iamdb/iamdb/client, …/client/mysqlauth, github.com/go-sql-driver/mysql\n" +
		goCreds(d, as) + cfg +
		"if err := cfg.Apply(mysqlauth.BeforeConnect(src, mysqlauth.Options{})); err != nil {\n\treturn err\n}\n" +
		"conn, err := mysql.NewConnector(cfg)\n" +
		"if err != nil {\n\treturn err\n}\n" +
		"db := sql.OpenDB(conn)"
}
