package github

import "strings"

// WebURL is GitHub's web address for an API base URL: github.com for the
// public API, the host of a GitHub Enterprise Server (https://HOST/api/v3/),
// and the API URL itself otherwise (the simulator serves both). Links in
// status, messages and the dashboard are built on it.
func WebURL(apiURL string) string {
	u := strings.TrimSuffix(apiURL, "/")
	switch {
	case u == "" || u == "https://api.github.com":
		return "https://github.com"
	case strings.HasSuffix(u, "/api/v3"):
		return strings.TrimSuffix(u, "/api/v3")
	}
	return u
}
