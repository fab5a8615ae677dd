{{- define "atrium.labels" -}}
app.kubernetes.io/name: atrium
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "atrium.hubSelector" -}}
app.kubernetes.io/name: atrium
app.kubernetes.io/component: hub
{{- end -}}
{{- define "atrium.databaseSecret" -}}
{{- if .Values.database.existingSecret -}}{{ .Values.database.existingSecret }}{{- else -}}{{ .Release.Name }}-database{{- end -}}
{{- end -}}
