// sleep10-async: the same server as sleep10 (it already waits on an async timer).
import './sleep10-uws.js'
