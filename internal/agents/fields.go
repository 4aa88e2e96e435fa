package agents

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// str reads a string field of an unstructured object; "" when absent or
// not a string.
func str(obj map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(obj, path...)
	return s
}

// list reads a list of objects; entries that are not objects are skipped.
func list(obj map[string]any, path ...string) []map[string]any {
	items, _, _ := unstructured.NestedSlice(obj, path...)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
