{{/* The chart's name, and the release's full name (at most 63 characters, as DNS names). */}}
{{- define "emqx-console.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "emqx-console.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "emqx-console.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emqx-console.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "emqx-console.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "emqx-console.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "emqx-console.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "emqx-console.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DJANGO_SECRET_KEY (the release's, or the user's own). */}}
{{- define "emqx-console.secretKeySecret" -}}
{{- default (include "emqx-console.fullname" .) .Values.secretKey.existingSecret }}
{{- end }}

{{- define "emqx-console.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where a kubeconfig Secret of clusters.kubeconfigs is mounted. */}}
{{- define "emqx-console.kubeconfigDir" -}}
{{- printf "/etc/emqx-console/kubeconfigs/%s" .name }}
{{- end }}

{{/* CONSOLE_CLUSTERS_JSON: the in-cluster cluster first, then each kubeconfig (console/settings.py). */}}
{{- define "emqx-console.clustersJson" -}}
{{- $clusters := list }}
{{- if .Values.clusters.inCluster.enabled }}
{{- $clusters = append $clusters (dict "name" .Values.clusters.inCluster.name "in_cluster" true) }}
{{- end }}
{{- range .Values.clusters.kubeconfigs }}
{{- $cluster := dict "name" .name "kubeconfig" (printf "%s/%s" (include "emqx-console.kubeconfigDir" .) (default "kubeconfig" .key)) }}
{{- if .context }}
{{- $_ := set $cluster "context" .context }}
{{- end }}
{{- $clusters = append $clusters $cluster }}
{{- end }}
{{- toJson $clusters }}
{{- end }}

{{/* The host names Django answers for: the ingress host, allowedHosts, and the pod's own address, which
the kubelet's probes and Prometheus use as the Host (POD_IP is defined before it). */}}
{{- define "emqx-console.allowedHosts" -}}
{{- $hosts := list }}
{{- if .Values.ingress.enabled }}
{{- $hosts = append $hosts .Values.ingress.host }}
{{- end }}
{{- $hosts = concat $hosts .Values.allowedHosts }}
{{- $hosts = append $hosts "$(POD_IP)" }}
{{- join "," (uniq $hosts) }}
{{- end }}

{{- define "emqx-console.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- if .Values.ingress.enabled }}
{{- $origins = append $origins (printf "https://%s" .Values.ingress.host) }}
{{- end }}
{{- range .Values.allowedHosts }}
{{- $origins = append $origins (printf "https://%s" (trimPrefix "." .)) }}
{{- end }}
{{- join "," (uniq $origins) }}
{{- end }}

{{/* The environment every console container shares: the pods and the migration Job. */}}
{{- define "emqx-console.databaseEnv" -}}
- name: CONSOLE_ENV
  value: production
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
- name: CONSOLE_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- end }}

{{/* The containers' securityContext: non-root, read-only root, nothing to escalate to. */}}
{{- define "emqx-console.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "emqx-console.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}
