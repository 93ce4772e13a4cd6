import type { Context } from 'koa';
import type { z } from 'zod';
import { lines, text, values } from './form.ts';

/**
 * Forms drawn from an input schema: each field of the schema becomes a form field of the kind its
 * type calls for (a list: one entry per line; a boolean: a checkbox; an enum: a choice; a number
 * or a string: a text box), and a posted form is read back into the schema's input shape. So a
 * field added to the schema appears in the form by itself; a label and a hint make it read well.
 */
export type FieldKind = 'text' | 'number' | 'lines' | 'checkbox' | 'select';

export interface FieldText {
  label: string;
  hint?: string;
  /** The values of the form's `type` this field applies to; every type when absent. */
  onlyFor?: readonly string[];
  /** Typed into a password box and never shown back, not even after a refused post. */
  secret?: boolean;
}

export interface FormField extends FieldText {
  name: string;
  kind: FieldKind;
  options: string[];
  nullable: boolean;
}

type Def = { type: string; innerType?: z.ZodType; entries?: Record<string, string> };
const defOf = (schema: z.ZodType) => (schema as unknown as { def: Def }).def;
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly']);

export function formFields(shape: Record<string, z.ZodType>, texts: Record<string, FieldText>): FormField[] {
  return Object.entries(shape).map(([name, schema]) => {
    let def = defOf(schema);
    let nullable = false;
    while (WRAPPERS.has(def.type) && def.innerType) {
      nullable ||= def.type === 'nullable';
      def = defOf(def.innerType);
    }
    const kind: FieldKind =
      def.type === 'array'
        ? 'lines'
        : def.type === 'boolean'
          ? 'checkbox'
          : def.type === 'enum'
            ? 'select'
            : def.type === 'number'
              ? 'number'
              : 'text';
    const label = texts[name]?.label ?? name.replaceAll('_', ' ');
    return { name, kind, options: Object.values(def.entries ?? {}), nullable, ...texts[name], label };
  });
}

/** The fields that apply to a form of this `type`. */
export const fieldsFor = (fields: FormField[], type: string) =>
  fields.filter((f) => !f.onlyFor || f.onlyFor.includes(type));

/**
 * The posted form as the schema's input. Creating leaves out what was left empty, so the
 * schema's defaults apply; updating sends every list (an emptied list replaces the stored one)
 * and clears an emptied nullable field.
 */
export function readFields(ctx: Context, fields: FormField[], mode: 'create' | 'update'): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.kind === 'checkbox') input[f.name] = values(ctx, f.name).includes('on');
    else if (f.kind === 'lines') {
      const list = lines(ctx, f.name);
      if (list.length || mode === 'update') input[f.name] = list;
    } else {
      const value = text(ctx, f.name).trim();
      if (value) input[f.name] = f.kind === 'number' ? Number(value) : value;
      else if (mode === 'update' && f.nullable) input[f.name] = null;
    }
  }
  return input;
}

/** What a stored object shows in its form: lists one per line, the rest as they are. */
export function formValues(fields: FormField[], stored: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    fields.map((f) => {
      const v = stored[f.name];
      return [f.name, Array.isArray(v) ? v.join('\n') : (v ?? '')];
    }),
  );
}

/** What was typed into `fields`, to show again after a refusal; never a secret. */
export const typedIn = (ctx: Context, fields: FormField[]) =>
  Object.fromEntries(fields.filter((f) => !f.secret).map((f) => [f.name, text(ctx, f.name)]));

/** The type picker of a "new" form: every type with its label, and `type` when it is one of them. */
export const typeChoice = (options: string[], labels: Record<string, string>, type: string) => ({
  types: options.map((t) => ({ value: t, label: labels[t] ?? t })),
  type: options.includes(type) ? type : undefined,
});
