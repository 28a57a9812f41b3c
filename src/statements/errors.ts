export class StatementNotFoundError extends Error {
  override readonly name = 'StatementNotFoundError';
  constructor(readonly statementId: string) {
    super(`no statement with id "${statementId}" is on record`);
  }
}

export class StatementExistsError extends Error {
  override readonly name = 'StatementExistsError';
  constructor(readonly statementId: string) {
    super(`a statement with id "${statementId}" is already on record`);
  }
}

/** A command that is well-formed but breaks a rule of the domain. */
export class DomainRuleError extends Error {
  override readonly name = 'DomainRuleError';
  constructor(
    readonly field: string,
    message: string,
    readonly status: 409 | 422 = 422,
  ) {
    super(message);
  }
}
