/** What an interaction uid looks like, for checking one that arrives in a link or a `state`. */
export const INTERACTION_UID = /^[A-Za-z0-9_-]{10,64}$/;
