{{/* The prefix of every name: the release's name, with "-liftoff" unless it says liftoff. */}}
{{- define "liftoff.fullname" -}}
{{- if contains "liftoff" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-liftoff" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "liftoff.labels" -}}
app.kubernetes.io/name: liftoff
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The labels every manager pod carries, whatever its shard: the Services of webhooks, metrics and the dashboard select them. */}}
{{- define "liftoff.selectorLabels" -}}
app.kubernetes.io/name: liftoff
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller-manager
{{- end -}}

{{- define "liftoff.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (printf "%s-controller-manager" (include "liftoff.fullname" .)) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "liftoff.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The name of a shard's Deployment: dict "root" $ "shard" NAME. */}}
{{- define "liftoff.managerName" -}}
{{- if .shard -}}
{{- printf "%s-controller-manager-%s" (include "liftoff.fullname" .root) .shard -}}
{{- else -}}
{{- printf "%s-controller-manager" (include "liftoff.fullname" .root) -}}
{{- end -}}
{{- end -}}

{{/* The rules of the Role or ClusterRole in a file of files/rbac (copied from config/ by hack/sync-chart.sh): dict "root" $ "file" NAME. */}}
{{- define "liftoff.rulesOf" -}}
{{- $rules := list -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.root.Files.Get (printf "files/rbac/%s" .file)) -1 -}}
{{- $o := fromYaml $doc -}}
{{- if has (get $o "kind" | default "") (list "Role" "ClusterRole") -}}
{{- $rules = $o.rules -}}
{{- end -}}
{{- end -}}
{{- if not $rules -}}
{{- fail (printf "files/rbac/%s has no rules: run make manifests" .file) -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end -}}

{{- define "liftoff.webhookSecretName" -}}
{{- .Values.github.webhook.existingSecret | default (printf "%s-github-webhook" (include "liftoff.fullname" .)) -}}
{{- end -}}
