// Package logkeys names every structured-log key in one place so logs stay
// greppable and consistent across packages.
package logkeys

const (
	RequestID   = "request_id"
	DeviceID    = "device_id"
	MessageType = "message_type"
	CommandUUID = "command_uuid"
	RequestType = "request_type"
	Status      = "status"
	HTTPStatus  = "http_status"
	Method      = "method"
	Path        = "path"
	Remote      = "remote"
	Err         = "err"
	Duration    = "duration"
	CertHash    = "cert_hash"
	Endpoint    = "endpoint"
	Count       = "count"
	Policy      = "policy_id"
	Reason      = "reason"
	Addr        = "addr"
	Component   = "component"
)
