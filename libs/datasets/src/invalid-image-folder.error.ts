// Defined beside the layout check in libs/storage; re-exported so this library's API is unchanged.
export { InvalidImageFolderError } from '@trainyard/storage';
