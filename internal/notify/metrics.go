package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_notification_deliveries_total",
		Help: "Deliveries of notification messages by receiver and result: delivered, failed (retried) or dropped.",
	}, []string{"namespace", "notification", "receiver", "result"})
	pending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_notification_pending",
		Help: "Messages of a ReleaseNotification not yet delivered to every receiver.",
	}, []string{"namespace", "notification"})
	lastSent = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_notification_last_sent_timestamp_seconds",
		Help: "When a receiver last accepted a message (Unix time).",
	}, []string{"namespace", "notification", "receiver"})
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "liftoff_notification_delivery_duration_seconds",
		Help:    "Time a receiver took to answer a delivery, by receiver type.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"type"})
	reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_notification_reports_total",
		Help: "Release reports written.",
	}, []string{"namespace", "notification"})
)

func init() {
	metrics.Registry.MustRegister(deliveries, pending, lastSent, duration, reports)
}

// Observe records one delivery's outcome.
func Observe(namespace, notification string, r Receiver, res Result, took time.Duration) {
	result := "delivered"
	switch {
	case res.Err == nil:
		lastSent.WithLabelValues(namespace, notification, r.Name).Set(float64(res.At.Unix()))
	case IsPermanent(res.Err):
		result = "dropped"
	default:
		result = "failed"
	}
	deliveries.WithLabelValues(namespace, notification, r.Name, result).Inc()
	if took > 0 {
		duration.WithLabelValues(string(r.Type)).Observe(took.Seconds())
	}
}

// ObserveDropped counts messages the outbox gave up (a full queue, 24 hours).
func ObserveDropped(namespace, notification, receiver string, n int64) {
	if n > 0 {
		deliveries.WithLabelValues(namespace, notification, receiver, "dropped").Add(float64(n))
	}
}

// ObservePending sets the pending gauge.
func ObservePending(namespace, notification string, n int) {
	pending.WithLabelValues(namespace, notification).Set(float64(n))
}

// ObserveReport counts a report written.
func ObserveReport(namespace, notification string) {
	reports.WithLabelValues(namespace, notification).Inc()
}

// Forget drops a deleted notification's series.
func Forget(namespace, notification string) {
	pending.DeleteLabelValues(namespace, notification)
	deliveries.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "notification": notification})
	lastSent.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "notification": notification})
	reports.DeleteLabelValues(namespace, notification)
}
