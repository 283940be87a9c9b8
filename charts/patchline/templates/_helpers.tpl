{{/* Names, labels and shared snippets of the patchline chart. */}}

{{- define "patchline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "patchline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "patchline.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "patchline.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* A component's object name: <fullname>-<component>, at most 63 characters. */}}
{{- define "patchline.componentName" -}}
{{- printf "%s-%s" (include "patchline.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "patchline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "patchline.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "patchline.labels" -}}
{{ include "patchline.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: patchline
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "patchline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The gRPC health-check name of each service (the proto's full service name). */}}
{{- define "patchline.grpcServiceName" -}}
{{- get (dict "prompts" "patchline.v1.PromptBuilder" "retrieval" "patchline.v1.Retrieval" "gateway" "patchline.v1.InferenceGateway" "patches" "patchline.v1.PatchProcessor") . }}
{{- end }}

{{- define "patchline.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create }}
{{- include "patchline.componentName" . }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}

{{- define "patchline.namespaces" -}}
{{- if .Values.operator.watchNamespaces }}
{{- join "," .Values.operator.watchNamespaces }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Where the storage credentials come from: "name|accessKeyIdKey|secretAccessKeyKey", or empty. */}}
{{- define "patchline.storageSecret" -}}
{{- $s := .Values.storage }}
{{- if $s.existingSecret }}
{{- printf "%s|%s|%s" $s.existingSecret $s.accessKeyIdKey $s.secretAccessKeyKey }}
{{- else if $s.accessKeyId }}
{{- printf "%s|%s|%s" (include "patchline.componentName" (dict "root" . "component" "storage")) $s.accessKeyIdKey $s.secretAccessKeyKey }}
{{- else if .Values.minio.enabled }}
{{- printf "%s|rootUser|rootPassword" (include "patchline.minioSecretName" .) }}
{{- end }}
{{- end }}

{{- define "patchline.minioSecretName" -}}
{{- default (include "patchline.componentName" (dict "root" . "component" "minio")) .Values.minio.existingSecret }}
{{- end }}

{{/* The S3 endpoint: always explicit, since the services refuse S3 without one (no default public endpoint). */}}
{{- define "patchline.storageEndpoint" -}}
{{- if .Values.storage.endpointUrl }}
{{- .Values.storage.endpointUrl }}
{{- else if .Values.minio.enabled }}
{{- printf "http://%s.%s.svc:9000" (include "patchline.componentName" (dict "root" . "component" "minio")) .Release.Namespace }}
{{- else if hasPrefix "s3" .Values.storage.uri }}
{{- printf "https://s3.%s.amazonaws.com" (required "storage.region is required for AWS S3" .Values.storage.region) }}
{{- end }}
{{- end }}

{{/* Where the token and the certificates are mounted in every pod that serves or calls the services. */}}
{{- define "patchline.tokenDir" -}}/var/run/patchline/token{{- end }}
{{- define "patchline.tlsDir" -}}/var/run/patchline/tls{{- end }}

{{- define "patchline.tokenSecretName" -}}
{{- default (include "patchline.componentName" (dict "root" . "component" "token")) .Values.security.token.existingSecret }}
{{- end }}

{{- define "patchline.tlsSecretName" -}}
{{- default (include "patchline.componentName" (dict "root" . "component" "tls")) .Values.security.tls.existingSecret }}
{{- end }}

{{/* Refuse values that would leave the services listening without TLS or token, or TLS without a certificate. */}}
{{- define "patchline.checkSecurity" -}}
{{- $s := .Values.security }}
{{- if and (not $s.token.enabled) (not $s.tls.enabled) (not $s.insecure) }}
{{- fail "security: enable security.token or security.tls (or set security.insecure: anyone reaching a pod could call)" }}
{{- end }}
{{- if and $s.tls.enabled (not $s.tls.existingSecret) (not $s.tls.certManager.enabled) }}
{{- fail "security.tls.enabled needs security.tls.existingSecret or security.tls.certManager.enabled" }}
{{- end }}
{{- if and $s.tls.certManager.enabled (not $s.tls.certManager.issuerRef.name) }}
{{- fail "security.tls.certManager.enabled needs security.tls.certManager.issuerRef.name" }}
{{- end }}
{{- end }}

{{/* The endpoints of the operator's own model servers: every Service of each namespace it watches, on the
ports its servers listen on (SGLang 30000, llama.cpp 8080: patchline_operator.builders). */}}
{{- define "patchline.ownEndpoints" -}}
{{- $rules := list }}
{{- $domains := list "svc" }}
{{- if not .Values.operator.clusterWide }}
{{- $domains = list }}
{{- range (splitList "," (include "patchline.namespaces" .)) }}
{{- $domains = append $domains (printf "%s.svc" .) }}
{{- end }}
{{- end }}
{{- range $domains }}
{{- $rules = append $rules (printf "http://*.%s:30000" .) }}
{{- $rules = append $rules (printf "http://*.%s:8080" .) }}
{{- end }}
{{- $rules | toJson }}
{{- end }}

{{/* PATCHLINE_KEY_<SECRET>_<KEY>: the variable a Secret's key is held in (patchline.core.settings.secret_key_variable). */}}
{{- define "patchline.keyVariable" -}}
{{- printf "PATCHLINE_KEY_%s" (regexReplaceAll "[^A-Za-z0-9]" (printf "%s_%s" .secretName .secretKey) "_" | upper) }}
{{- end }}

{{/* Credentials of a client of the services (the operator): the token, the CA, and a client certificate for mTLS. */}}
{{- define "patchline.clientAuthEnv" -}}
{{- if .Values.security.token.enabled }}
- name: PATCHLINE_TOKEN_FILE
  value: {{ printf "%s/%s" (include "patchline.tokenDir" .) .Values.security.token.secretKey | quote }}
{{- end }}
{{- if .Values.security.tls.enabled }}
- name: PATCHLINE_TLS_CA
  value: {{ printf "%s/ca.crt" (include "patchline.tlsDir" .) | quote }}
{{- if .Values.security.tls.clientAuth }}
- name: PATCHLINE_TLS_CLIENT_CERT
  value: {{ printf "%s/tls.crt" (include "patchline.tlsDir" .) | quote }}
- name: PATCHLINE_TLS_CLIENT_KEY
  value: {{ printf "%s/tls.key" (include "patchline.tlsDir" .) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* `patchline serve` flags of the token, the certificate and --insecure. */}}
{{- define "patchline.serveAuthArgs" -}}
{{- $s := .Values.security }}
{{- if $s.token.enabled }}
- --token-file={{ include "patchline.tokenDir" . }}/{{ $s.token.secretKey }}
{{- end }}
{{- if $s.tls.enabled }}
- --tls-cert={{ include "patchline.tlsDir" . }}/tls.crt
- --tls-key={{ include "patchline.tlsDir" . }}/tls.key
{{- if $s.tls.clientAuth }}
- --tls-client-ca={{ include "patchline.tlsDir" . }}/ca.crt
{{- end }}
{{- end }}
{{- if $s.insecure }}
- --insecure
{{- end }}
{{- end }}

{{- define "patchline.authVolumeMounts" -}}
{{- if .Values.security.token.enabled }}
- name: token
  mountPath: {{ include "patchline.tokenDir" . }}
  readOnly: true
{{- end }}
{{- if .Values.security.tls.enabled }}
- name: tls
  mountPath: {{ include "patchline.tlsDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "patchline.authVolumes" -}}
{{- if .Values.security.token.enabled }}
- name: token
  secret:
    secretName: {{ include "patchline.tokenSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- if .Values.security.tls.enabled }}
- name: tls
  secret:
    secretName: {{ include "patchline.tlsSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* Environment every patchline container gets: the store and how to reach it (read by patchline.core.settings). */}}
{{- define "patchline.storageEnv" -}}
- name: PATCHLINE_STORE_URI
  value: {{ .Values.storage.uri | quote }}
{{- with (include "patchline.storageEndpoint" .) }}
- name: PATCHLINE_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.region }}
- name: PATCHLINE_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- with (include "patchline.storageSecret" .) }}
{{- $parts := splitList "|" . }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ index $parts 0 }}
      key: {{ index $parts 1 }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ index $parts 0 }}
      key: {{ index $parts 2 }}
{{- end }}
{{- end }}

{{- define "patchline.podScheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The operator's API permissions (a Role per watched namespace, or one ClusterRole). */}}
{{- define "patchline.operatorRules" }}
- apiGroups: [patchline.dev]
  resources: [inferenceruns, rollouts]
  verbs: [get, list, watch, patch, update, create, delete]
- apiGroups: [patchline.dev]
  resources: [inferenceruns/status, rollouts/status]
  verbs: [get, patch, update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .root.Values.operator.peering.enabled }}
- apiGroups: [kopf.dev]
  resources: [{{ ternary "clusterkopfpeerings" "kopfpeerings" .root.Values.operator.clusterWide }}]
  verbs: [get, list, watch, patch]
{{- end }}
{{- end }}
