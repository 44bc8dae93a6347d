/** The twin's Secrets Manager: values generated as CloudFormation generates them from GenerateSecretString. */
import { describe, expect, it } from 'vitest';
import { generateSecretValue } from '../../twin/secrets-manager/server';

describe("the twin's secret values", () => {
  it('put a password of the asked length and alphabet under GenerateStringKey of the template', () => {
    const value = JSON.parse(
      generateSecretValue({
        SecretStringTemplate: JSON.stringify({ username: 'interview_ops_app' }),
        GenerateStringKey: 'password',
        PasswordLength: 32,
        ExcludePunctuation: true,
      }),
    );
    expect(value.username).toBe('interview_ops_app');
    expect(value.password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('leave out the excluded characters, and differ each time', () => {
    const excluded = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';
    const values = Array.from({ length: 50 }, () => generateSecretValue({ PasswordLength: 30, ExcludeCharacters: excluded }));
    for (const value of values) {
      expect(value).toHaveLength(30);
      for (const char of excluded) expect(value).not.toContain(char);
    }
    expect(new Set(values).size).toBe(values.length);
  });
});
