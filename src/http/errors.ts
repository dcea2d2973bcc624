import type { DomainErrorCode } from "../domain/errors.ts";

/** How one DomainError code surfaces at the edge. */
export interface ErrorMapping {
  /** The JSON-RPC error code (SPEC §3: -32602 for bad input, -32000…-32099 for the rest). */
  rpcCode: number;
  /** The HTTP status for routes that are not JSON-RPC. */
  httpStatus: 400 | 401 | 403 | 404 | 409;
}

/** The one table mapping every DomainError code to its JSON-RPC code and HTTP status. */
export const DOMAIN_ERROR_MAPPINGS: Readonly<Record<DomainErrorCode, ErrorMapping>> = {
  invalid_schedule: { rpcCode: -32602, httpStatus: 400 },
  invalid_params: { rpcCode: -32602, httpStatus: 400 },
  not_found: { rpcCode: -32001, httpStatus: 404 },
  conflict: { rpcCode: -32002, httpStatus: 409 },
  forbidden: { rpcCode: -32003, httpStatus: 403 },
  unauthorized: { rpcCode: -32004, httpStatus: 401 },
};
