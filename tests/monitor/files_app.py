"""The one-app firm the monitoring stack tests run: group ``staff`` may use the file share."""

from __future__ import annotations

FILES_MANIFEST = """\
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: staff}}
spec: {{description: Staff, mfaRequired: false}}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: files}}
spec:
  title: File share
  hosts: [127.0.0.1]
  pathPrefix: /files
  upstream: {upstream}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: files-access}}
spec:
  app: files
  rules:
    - name: staff-read
      groups: [staff]
"""
