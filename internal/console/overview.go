package console

import "net/http"

func init() { pageSets = append(pageSets, registerOverview) }

func registerOverview(c *Console) {
	c.page("GET "+Prefix+"{$}", c.overview)
}

// overview is the console's first page.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, s, http.StatusOK, "overview", &view{Title: "Overview", Nav: "overview"})
}
