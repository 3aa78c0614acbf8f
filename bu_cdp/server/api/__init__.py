"""The two API faces: routes (seed and hosted), the hosted dialect's shapes and errors,
presigned URLs, the browser operations both faces share, and the guard against hostile
clients."""
