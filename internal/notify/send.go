package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Headers of the generic webhook.
const (
	// HeaderSignature is sha256=<hex HMAC-SHA256 of the body with the receiver's secret>.
	HeaderSignature = "X-Liftoff-Signature-256"
	// HeaderEvent is the event's type.
	HeaderEvent = "X-Liftoff-Event"
	// HeaderDelivery is the event's id: the same for a retried delivery.
	HeaderDelivery = "X-Liftoff-Delivery"
)

// DefaultTimeout bounds one delivery.
const DefaultTimeout = 10 * time.Second

// Receiver is a receiver with what its Secret holds. Its URL and secret are
// credentials: they never appear in errors.
type Receiver struct {
	Name   string
	Type   releasev1.ReceiverType
	URL    string
	Secret []byte
}

// Sender delivers messages over HTTP.
type Sender struct {
	// Client; one with DefaultTimeout when nil.
	Client *http.Client
}

// Body renders the event for the receiver's type.
func Body(r Receiver, e *Event) ([]byte, error) {
	switch r.Type {
	case releasev1.ReceiverSlack:
		return json.Marshal(SlackMessage(e))
	case releasev1.ReceiverTeams:
		return json.Marshal(TeamsMessage(e))
	}
	return e.Payload()
}

// Sign is the X-Liftoff-Signature-256 value of a body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send delivers the event to the receiver. Its error is a *DeliveryError
// that says whether to retry, and never holds the URL.
func (s *Sender) Send(ctx context.Context, r Receiver, e *Event) error {
	body, err := Body(r, e)
	if err != nil {
		return &DeliveryError{Permanent: true, Message: "rendering the message: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{Permanent: true, Message: "the Secret's url is not a URL: fix it"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Liftoff")
	if r.Type == releasev1.ReceiverWebhook {
		req.Header.Set(HeaderEvent, e.Type)
		req.Header.Set(HeaderDelivery, e.ID)
		req.Header.Set(HeaderSignature, Sign(r.Secret, body))
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error prints the URL, a credential
		}
		return &DeliveryError{Message: fmt.Sprintf("%s did not answer: %v", req.URL.Host, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return classify(resp, strings.TrimSpace(string(answer)))
}

// classify turns a receiver's answer into nil or a DeliveryError.
func classify(resp *http.Response, answer string) error {
	code := resp.StatusCode
	said := ""
	if answer != "" {
		said = ": " + clip(strings.Join(strings.Fields(answer), " "), 200)
	}
	switch {
	case code >= 200 && code < 300:
		// Teams' connectors answer throttling with 200 and the error in the body.
		if strings.Contains(answer, "HTTP error 429") {
			return &DeliveryError{Status: 429, Message: "throttled (429)" + said}
		}
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		e := &DeliveryError{Status: code, Message: fmt.Sprintf("answered %d%s", code, said)}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	hint := ""
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		hint = ": the URL is revoked or wrong; put a working one in the receiver's Secret"
	}
	return &DeliveryError{Status: code, Permanent: true, Message: fmt.Sprintf("refused the message with %d%s%s", code, said, hint)}
}

// DeliveryError is a failed delivery.
type DeliveryError struct {
	// Status of the answer, 0 when none came.
	Status int
	// Permanent: the receiver refused this message (4xx); sending it again
	// would not help, so it is dropped.
	Permanent bool
	// RetryAfter is what the receiver asked to wait.
	RetryAfter time.Duration
	Message    string
}

func (e *DeliveryError) Error() string { return e.Message }

// IsPermanent reports whether err says not to retry the message.
func IsPermanent(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Permanent
}

// RetryAfter is how long the receiver asked to wait, or 0.
func RetryAfter(err error) time.Duration {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
