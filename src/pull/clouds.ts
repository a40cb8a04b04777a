/**
 * Sign-in and Exchange Online hosts per Microsoft cloud. The Exchange hosts are those the Exchange Online Admin API
 * documents (eop-behaviour.md §10.2, S53); GCC uses the worldwide hosts.
 */
export type Cloud = 'global' | 'gcc' | 'gcchigh' | 'dod';

export interface CloudEndpoints {
  /** Entra ID sign-in host (authority base). */
  login: string;
  /** Exchange Online host: the API base and the token resource. */
  exchange: string;
}

export const CLOUDS: Record<Cloud, CloudEndpoints> = {
  global: { login: 'https://login.microsoftonline.com', exchange: 'https://outlook.office365.com' },
  gcc: { login: 'https://login.microsoftonline.com', exchange: 'https://outlook.office365.com' },
  gcchigh: { login: 'https://login.microsoftonline.us', exchange: 'https://outlook.office365.us' },
  dod: { login: 'https://login.microsoftonline.us', exchange: 'https://outlook-dod.office365.us' },
};
