{{/*
The objects every HTTP component (frontend, backend, mcp) has: a
ServiceAccount, a Deployment, a Service and the optional HPA and PDB. The
per-component files (frontend-deployment.yaml, …) call these with
(dict "root" $ "component" "<name>"); $c is that component's values.
*/}}

{{/* None of the components talks to the Kubernetes API. Args: root, component. */}}
{{- define "todo-chatbot.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
automountServiceAccountToken: false
{{- end }}

{{/* The component's settings. Args: root, component (any of the four). */}}
{{- define "todo-chatbot.configMap" -}}
{{- $env := include "todo-chatbot.env" . | fromJson -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
data:
  {{- range $key, $value := $env.config }}
  {{ $key | quote }}: {{ $value | quote }}
  {{- end }}
{{- end }}

{{/* The component's secrets, unless secrets.existingSecret names one. Args: root, component. */}}
{{- define "todo-chatbot.secret" -}}
{{- if not .root.Values.secrets.existingSecret -}}
{{- $env := include "todo-chatbot.env" . | fromJson -}}
apiVersion: v1
kind: Secret
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
type: Opaque
data:
  {{- range $key, $value := $env.secret }}
  {{ $key | quote }}: {{ $value | b64enc | quote }}
  {{- end }}
{{- end -}}
{{- end }}

{{/* Args: root, component (frontend, backend or mcp). */}}
{{- define "todo-chatbot.deployment" -}}
{{- $c := index .root.Values .component -}}
{{- $name := include "todo-chatbot.fullname" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
spec:
  {{- if not .root.Values.autoscaling.enabled }}
  {{- /* An HPA owns the replica count while autoscaling is on. */}}
  replicas: {{ int64 $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "todo-chatbot.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Never below the desired count during an upgrade.
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "todo-chatbot.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include "todo-chatbot.checksum" . | quote }}
    spec:
      serviceAccountName: {{ $name | quote }}
      automountServiceAccountToken: false
      # Service links add variables the apps never read.
      enableServiceLinks: false
      securityContext:
        {{- include "todo-chatbot.podSecurityContext" (int64 $c.runAsUser) | nindent 8 }}
      containers:
        - name: {{ .component | quote }}
          image: {{ printf "%s:%s" $c.image.repository $c.image.tag | quote }}
          imagePullPolicy: {{ .root.Values.imagePullPolicy | quote }}
          ports:
            - name: http
              containerPort: {{ int64 $c.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name | quote }}
            - secretRef:
                name: {{ include "todo-chatbot.secretName" . | quote }}
          startupProbe:
            httpGet:
              path: {{ $c.healthPath | quote }}
              port: http
            periodSeconds: 2
            timeoutSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: {{ $c.healthPath | quote }}
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: {{ $c.readyPath | quote }}
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 3
          resources:
            requests:
              cpu: {{ include "todo-chatbot.quantity" $c.resources.requests.cpu | quote }}
              memory: {{ include "todo-chatbot.quantity" $c.resources.requests.memory | quote }}
            limits:
              cpu: {{ include "todo-chatbot.quantity" $c.resources.limits.cpu | quote }}
              memory: {{ include "todo-chatbot.quantity" $c.resources.limits.memory | quote }}
          securityContext:
            {{- include "todo-chatbot.containerSecurityContext" (int64 $c.runAsUser) | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if eq .component "frontend" }}
            # Next.js writes its image and fetch cache next to the server.
            - name: next-cache
              mountPath: /app/.next/cache
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if eq .component "frontend" }}
        - name: next-cache
          emptyDir: {}
        {{- end }}
{{- end }}

{{/* ClusterIP; the frontend's is a NodePort when that is how the app is exposed. Args: root, component. */}}
{{- define "todo-chatbot.service" -}}
{{- $c := index .root.Values .component -}}
{{- $nodePort := and (eq .component "frontend") (eq .root.Values.expose.mode "nodePort") -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
spec:
  type: {{ ternary "NodePort" "ClusterIP" $nodePort }}
  selector:
    {{- include "todo-chatbot.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ int64 $c.port }}
      targetPort: http
      protocol: TCP
      {{- if $nodePort }}
      nodePort: {{ int64 .root.Values.expose.nodePort }}
      {{- end }}
{{- end }}

{{/* Args: root, component. */}}
{{- define "todo-chatbot.hpa" -}}
{{- if .root.Values.autoscaling.enabled -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "todo-chatbot.fullname" . | quote }}
  minReplicas: {{ int64 .root.Values.autoscaling.minReplicas }}
  maxReplicas: {{ int64 .root.Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int64 .root.Values.autoscaling.targetCpuUtilization }}
{{- end -}}
{{- end }}

{{/*
Only when more pods run than must stay available: a budget a single replica
cannot satisfy would block every node drain. Args: root, component.
*/}}
{{- define "todo-chatbot.pdb" -}}
{{- $c := index .root.Values .component -}}
{{- $lowest := ternary .root.Values.autoscaling.minReplicas $c.replicas .root.Values.autoscaling.enabled -}}
{{- if and .root.Values.podDisruptionBudget.enabled (gt (int64 $lowest) (int64 .root.Values.podDisruptionBudget.minAvailable)) -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
spec:
  minAvailable: {{ int64 .root.Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "todo-chatbot.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end }}
