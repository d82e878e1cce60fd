import { TrainyardApiError } from '@trainyard/client/browser';
import { errorText } from './api';

describe('errorText', () => {
  it('says the status and the detail, and each field the detail does not already say, once', () => {
    const blocker = 'model version digits v1 is registered from it: models rm digits 1 first';
    const refused = new TrainyardApiError('DELETE', '/v1/runs/r1', 409, {
      detail: `Run r1 cannot be deleted: ${blocker}`,
      errors: [{ field: 'modelVersions', message: blocker }],
    });
    expect(errorText(refused)).toBe(`409 Run r1 cannot be deleted: ${blocker}`);
    const invalid = new TrainyardApiError('POST', '/v1/runs', 400, {
      detail: 'Invalid run spec',
      errors: [{ field: 'training.epochs', message: 'Too small: expected number to be >=1' }],
    });
    expect(errorText(invalid)).toBe('400 Invalid run spec: training.epochs Too small: expected number to be >=1');
  });
});
