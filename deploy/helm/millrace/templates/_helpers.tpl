{{/* Names, labels, images and the secrets each service reads. */}}

{{- define "millrace.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A service's object names: <fullname>-<service>. Call with (list $ "ingestion"). */}}
{{- define "millrace.name" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "millrace.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "millrace.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: millrace
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "millrace.labels" -}}
{{- $root := index . 0 -}}
{{ include "millrace.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{/* The service's image: by digest when given, else by tag (never a mutable one). */}}
{{- define "millrace.image" -}}
{{- $root := index . 0 -}}
{{- $service := index . 1 -}}
{{- $image := $root.Values.image -}}
{{- $repo := printf "%s/%s%s" (trimSuffix "/" $image.repository) $image.prefix $service -}}
{{- $digest := get ($image.digests | default dict) $service -}}
{{- if $digest -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- $tag := $image.tag | default $root.Chart.AppVersion | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag must name a release (not latest): the chart pins every image" -}}
{{- end -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Secret name holding a service's SCRAM password: the chart's when a password is given. */}}
{{- define "millrace.kafkaSecret" -}}
{{- $root := index . 0 -}}
{{- $cfg := index $root.Values.services (index . 1) -}}
{{- if $cfg.kafka.password -}}
{{- printf "%s-kafka" (include "millrace.name" .) -}}
{{- else -}}
{{- required (printf "services.%s.kafka: existingSecret or password" (index . 1)) $cfg.kafka.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "millrace.s3Secret" -}}
{{- $root := index . 0 -}}
{{- $cfg := index $root.Values.services (index . 1) -}}
{{- if and $cfg.s3.accessKey $cfg.s3.secretKey -}}
{{- printf "%s-s3" (include "millrace.name" .) -}}
{{- else -}}
{{- required (printf "services.%s.s3: existingSecret or accessKey+secretKey" (index . 1)) $cfg.s3.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* (list $ valuesOfOneSecret "suffix"): the chart's Secret when a value is given. */}}
{{- define "millrace.ownedOrExisting" -}}
{{- $root := index . 0 -}}
{{- $cfg := index . 1 -}}
{{- if $cfg.value -}}
{{- printf "%s-%s" (include "millrace.fullname" $root) (index . 2) -}}
{{- else -}}
{{- required (printf "%s: existingSecret or value" (index . 2)) $cfg.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "millrace.kafkaCaSecret" -}}
{{- $ca := .Values.kafka.ca -}}
{{- if $ca.pem -}}
{{- printf "%s-kafka-ca" (include "millrace.fullname" .) -}}
{{- else -}}
{{- required "kafka.ca: existingSecret or pem" $ca.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "millrace.kafkaCaKey" -}}
{{- if .Values.kafka.ca.pem -}}ca.crt{{- else -}}{{ .Values.kafka.ca.key }}{{- end -}}
{{- end -}}

{{/* Whether the protocol uses TLS (so the CA is mounted) / SASL (so credentials are set). */}}
{{- define "millrace.kafkaTls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") -}}true{{- end -}}
{{- end -}}
{{- define "millrace.kafkaSasl" -}}
{{- if has .Values.kafka.securityProtocol (list "SASL_PLAINTEXT" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/* The services' KEDA-scaled set and each group's topics, from the topic catalogue. */}}
{{- define "millrace.lagScaled" -}}
{{- list "ingestion" "training" "monitoring" | toJson -}}
{{- end -}}
