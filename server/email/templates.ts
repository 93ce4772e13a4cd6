import { join } from 'node:path';
import { Eta } from 'eta';

/**
 * Email bodies: Eta templates in `views/email/`, one `<name>.html.eta` and one `<name>.txt.eta`
 * per mail. The HTML engine escapes every `<%=`; the text engine escapes nothing, since a text body
 * is not HTML and a link must arrive with its `&` intact, and trims nothing, so a text template's
 * lines are the mail's lines. Mail is rare, so the engines are made per
 * render: no module state, and the cost is one small file read.
 */
const EMAIL_VIEWS = join(import.meta.dirname, '..', '..', 'views', 'email');

export type EmailName = 'verify-email' | 'reset-password' | 'signup-attempt' | 'invitation';

export interface EmailData {
  productName: string;
  /** The one link the mail is about (verification, password reset). */
  link: string;
  /** The recipient's display name, when known. */
  name?: string | null;
  /** How long the link stays valid, in words ("24 hours"); an empty string leaves the line out. */
  expiresIn: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

const SUBJECTS: Record<EmailName, string> = {
  'verify-email': 'Verify your email address',
  'reset-password': 'Reset your password',
  'signup-attempt': 'Someone tried to sign up with your email',
  invitation: 'You are invited to Tessera',
};

/** Renders the subject, HTML body and text body of one email. */
export function renderEmail(name: EmailName, data: EmailData): RenderedEmail {
  const html = new Eta({ views: EMAIL_VIEWS, cache: false, autoEscape: true });
  const text = new Eta({ views: EMAIL_VIEWS, cache: false, autoEscape: false, autoTrim: false });
  const subject = SUBJECTS[name];
  const it = { ...data, subject };
  return { subject, html: html.render(`${name}.html.eta`, it), text: text.render(`${name}.txt.eta`, it) };
}
