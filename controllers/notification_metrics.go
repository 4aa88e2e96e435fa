package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftoff-dev/liftoff/internal/notify"
)

// notificationMetrics are the ReleaseNotification controller's metrics,
// registered like releaseMetrics (once per registry). Series of a deleted
// notification are deleted with it.
type notificationMetrics struct {
	deliveries, reports *prometheus.CounterVec
	pending, lastSent   *prometheus.GaugeVec
	duration            *prometheus.HistogramVec
}

func newNotificationMetrics(reg prometheus.Registerer) *notificationMetrics {
	return &notificationMetrics{
		deliveries: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liftoff_notification_deliveries_total",
			Help: "Deliveries of notification messages by receiver and result: delivered, failed (retried) or dropped.",
		}, []string{"namespace", "notification", "receiver", "result"})),
		pending: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_notification_pending",
			Help: "Messages of a ReleaseNotification not yet delivered to every receiver.",
		}, []string{"namespace", "notification"})),
		lastSent: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_notification_last_sent_timestamp_seconds",
			Help: "When a receiver last accepted a message (Unix time).",
		}, []string{"namespace", "notification", "receiver"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liftoff_notification_delivery_duration_seconds",
			Help:    "Time a receiver took to answer a delivery, by receiver type.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"type"})),
		reports: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liftoff_notification_reports_total",
			Help: "Release reports written.",
		}, []string{"namespace", "notification"})),
	}
}

// delivered records one delivery's outcome; took is zero when nothing was sent.
func (m *notificationMetrics) delivered(namespace, notification string, r notify.Receiver, res notify.Result, took time.Duration) {
	result := "delivered"
	switch {
	case res.Err == nil:
		m.lastSent.WithLabelValues(namespace, notification, r.Name).Set(float64(res.At.Unix()))
	case notify.IsPermanent(res.Err):
		result = "dropped"
	default:
		result = "failed"
	}
	m.deliveries.WithLabelValues(namespace, notification, r.Name, result).Inc()
	if took > 0 {
		m.duration.WithLabelValues(string(r.Type)).Observe(took.Seconds())
	}
}

// dropped counts messages the outbox gave up (a full queue, 24 hours).
func (m *notificationMetrics) dropped(namespace, notification, receiver string, n int64) {
	if n > 0 {
		m.deliveries.WithLabelValues(namespace, notification, receiver, "dropped").Add(float64(n))
	}
}

// setPending sets the pending gauge.
func (m *notificationMetrics) setPending(namespace, notification string, n int) {
	m.pending.WithLabelValues(namespace, notification).Set(float64(n))
}

// reported counts a report written.
func (m *notificationMetrics) reported(namespace, notification string) {
	m.reports.WithLabelValues(namespace, notification).Inc()
}

// forget deletes a deleted notification's series.
func (m *notificationMetrics) forget(namespace, notification string) {
	labels := prometheus.Labels{"namespace": namespace, "notification": notification}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{m.deliveries, m.reports, m.pending, m.lastSent} {
		v.DeletePartialMatch(labels)
	}
}
