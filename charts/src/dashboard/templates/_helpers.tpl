{{/* Labels every object of the chart carries. */}}
{{- define "dashboard.labels" -}}
app.kubernetes.io/name: dashboard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The labels the Service selects the pods by. */}}
{{- define "dashboard.selectorLabels" -}}
app.kubernetes.io/name: dashboard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
