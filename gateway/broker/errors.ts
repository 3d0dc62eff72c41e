import { CodedError } from '../coded-error.ts';

/** Codes a caller can branch on. Listening errors keep Node's code (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export type BrokerErrorCode =
  | 'EADDRINUSE' // another process (or broker) holds the port
  | 'EACCES' // a privileged port (< 1024) without the capability to bind it
  | 'EADDRNOTAVAIL' // the host address is not one of this machine's
  | 'BROKER_LISTEN_FAILED' // any other listening failure
  | 'BROKER_INVALID_OPTION' // a bad startBroker() / MqttPublisher option (the message names it)
  | 'INVALID_TOPIC_PREFIX'
  | 'INVALID_SENSOR_ID'
  | 'RESERVED_SENSOR_ID' // `bridge` and `ingest` are topic levels of the gateway itself
  | 'PUBLISH_FAILED'; // the broker refused an in-process publish (e.g. it is closed)

export class BrokerError extends CodedError<BrokerErrorCode> {
  override readonly name = 'BrokerError';
}
