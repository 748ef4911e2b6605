// In Node, @mmesid/tensor finds backend packages by name at run time: nothing to preload.
export {};
