package notify

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
)

// releaseGroup is Liftoff's API group.
const releaseGroup = "release.liftoff.dev"

// Approvers names the users and groups that RBAC lets approve the Releases
// of a namespace: the subjects of the namespace's RoleBindings and of the
// ClusterRoleBindings whose role grants the verb approve (or *) on releases
// of release.liftoff.dev. Rules for every API group (cluster admins) are not
// counted: naming every admin helps nobody find the approver.
func Approvers(roles []rbacv1.Role, clusterRoles []rbacv1.ClusterRole, bindings []rbacv1.RoleBinding, clusterBindings []rbacv1.ClusterRoleBinding) []string {
	grants := map[string]bool{} // "Role/name" or "ClusterRole/name"
	for _, r := range roles {
		grants["Role/"+r.Name] = grantsApprove(r.Rules)
	}
	for _, r := range clusterRoles {
		grants["ClusterRole/"+r.Name] = grantsApprove(r.Rules)
	}
	seen := map[string]bool{}
	add := func(ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
		if !grants[ref.Kind+"/"+ref.Name] {
			return
		}
		for _, s := range subjects {
			switch s.Kind {
			case rbacv1.UserKind:
				seen[s.Name] = true
			case rbacv1.GroupKind:
				seen["group "+s.Name] = true
			}
		}
	}
	for _, b := range bindings {
		add(b.RoleRef, b.Subjects)
	}
	for _, b := range clusterBindings {
		add(b.RoleRef, b.Subjects)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func grantsApprove(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if has(r.APIGroups, releaseGroup) && (has(r.Resources, "releases") || has(r.Resources, "*")) && (has(r.Verbs, "approve") || has(r.Verbs, "*")) {
			return true
		}
	}
	return false
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
